// The HTTP channel against loopback receivers (allowed with allow_private), with a test-only
// format.
#include "vouch/notify/http_channel.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>

#include <string>
#include <thread>
#include <vector>

#include "vouch/net/loopback_server_test.h"

namespace vouch::notify {
namespace {

using net::testing::LoopbackServer;

// Renders the delivery id and action as a tiny JSON body; fails for the action "unrenderable".
class TestFormat final : public Format {
 public:
  std::string_view name() const override { return "test"; }
  Result<Rendered> Render(const Envelope& e) const override {
    if (e.action == "unrenderable") return InvalidArgument("the event lacks what the test needs");
    return Rendered{
        .headers = {{"Content-Type", "application/json"}, {"webhook-id", e.delivery_id}},
        .body = "{\"id\":\"" + e.delivery_id + "\",\"action\":\"" + e.action + "\"}"};
  }
};

constexpr TimeMs kNow = 1'700'000'000'000;  // 2023-11-14T22:13:20Z

Envelope AnEnvelope(std::string action = "model.created") {
  return Envelope{
      .delivery_id = "dlv_1", .event_seq = 7, .action = std::move(action), .now_ms = kNow};
}

store::WebhookRecord AWebhook(std::string url) {
  store::WebhookRecord w;
  w.id = 1;
  w.name = "hook";
  w.url = std::move(url);
  w.format = "test";
  return w;
}

std::string Answer(std::string_view status_line, std::string_view extra_headers,
                   std::string_view body) {
  return fmt::format("HTTP/1.1 {}\r\n{}Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                     status_line, extra_headers, body.size(), body);
}

HttpChannelOptions Allowed() {
  return {.allow_private = true,
          .connect_timeout = std::chrono::milliseconds(2000),
          .timeout = std::chrono::milliseconds(5000)};
}

TEST(HttpChannel, PostsTheRenderingWithItsHeadersAndTheUserAgentAndKeepsTheAnswer) {
  LoopbackServer receiver({Answer("200 OK", "", "thanks")});
  HttpChannel channel(Allowed());
  TestFormat format;
  AttemptOutcome outcome =
      channel.Send(AWebhook(receiver.Url("/hooks/in?x=1")), AnEnvelope(), format);
  EXPECT_EQ(outcome.status, 200);
  EXPECT_EQ(outcome.response, "thanks");
  EXPECT_EQ(outcome.error, "");
  EXPECT_FALSE(outcome.permanent);
  EXPECT_EQ(outcome.retry_after_ms, std::nullopt);
  EXPECT_GE(outcome.latency_ms, 0);
  const std::vector<std::string> got = receiver.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].starts_with("POST /hooks/in?x=1 HTTP/1.1\r\n")) << got[0];
  EXPECT_NE(got[0].find("\r\nUser-Agent: vouch-webhooks/0.1.0\r\n"), std::string::npos) << got[0];
  EXPECT_NE(got[0].find("\r\nContent-Type: application/json\r\n"), std::string::npos) << got[0];
  EXPECT_NE(got[0].find("\r\nwebhook-id: dlv_1\r\n"), std::string::npos) << got[0];
  EXPECT_TRUE(got[0].ends_with("\r\n\r\n{\"id\":\"dlv_1\",\"action\":\"model.created\"}"))
      << got[0];
}

TEST(HttpChannel, AServerErrorIsAnAnswerToRetryWithItsBodyCutTo1KiB) {
  LoopbackServer receiver({Answer("500 Internal Server Error", "", std::string(5000, 'e'))});
  HttpChannel channel(Allowed());
  TestFormat format;
  AttemptOutcome outcome = channel.Send(AWebhook(receiver.Url("/")), AnEnvelope(), format);
  EXPECT_EQ(outcome.status, 500);
  EXPECT_EQ(outcome.response, std::string(1024, 'e'));
  EXPECT_FALSE(outcome.permanent);
  EXPECT_EQ(outcome.retry_after_ms, std::nullopt);
}

TEST(HttpChannel, TheExcerptIsValidUtf8WithoutNul) {
  LoopbackServer receiver({Answer("400 Bad Request", "", std::string("a\0b\xff", 4))});
  HttpChannel channel(Allowed());
  TestFormat format;
  AttemptOutcome outcome = channel.Send(AWebhook(receiver.Url("/")), AnEnvelope(), format);
  EXPECT_EQ(outcome.status, 400);
  EXPECT_EQ(outcome.response, "ab\xef\xbf\xbd");
}

TEST(HttpChannel, TooManyRequestsWithRetryAfterSecondsSaysHowLongToWait) {
  LoopbackServer receiver({Answer("429 Too Many Requests", "Retry-After: 7\r\n", "slow down")});
  HttpChannel channel(Allowed());
  TestFormat format;
  AttemptOutcome outcome = channel.Send(AWebhook(receiver.Url("/")), AnEnvelope(), format);
  EXPECT_EQ(outcome.status, 429);
  EXPECT_EQ(outcome.retry_after_ms, 7000);
  EXPECT_FALSE(outcome.permanent);
}

TEST(HttpChannel, UnavailableWithRetryAfterAnHttpDateWaitsUntilThatDate) {
  // kNow + 90 s.
  LoopbackServer receiver(
      {Answer("503 Service Unavailable", "Retry-After: Tue, 14 Nov 2023 22:14:50 GMT\r\n", "")});
  HttpChannel channel(Allowed());
  TestFormat format;
  AttemptOutcome outcome = channel.Send(AWebhook(receiver.Url("/")), AnEnvelope(), format);
  EXPECT_EQ(outcome.status, 503);
  EXPECT_EQ(outcome.retry_after_ms, 90'000);
}

TEST(HttpChannel, RetryAfterIsReadOnlyOn429And503) {
  LoopbackServer receiver({Answer("500 Internal Server Error", "Retry-After: 7\r\n", "")});
  HttpChannel channel(Allowed());
  TestFormat format;
  EXPECT_EQ(channel.Send(AWebhook(receiver.Url("/")), AnEnvelope(), format).retry_after_ms,
            std::nullopt);
}

TEST(HttpChannel, AReceiverThatNeverAnswersTimesOutAsATransportFailureToRetry) {
  LoopbackServer receiver({std::string(LoopbackServer::kNoAnswer)});
  HttpChannelOptions options = Allowed();
  options.timeout = std::chrono::milliseconds(300);
  HttpChannel channel(options);
  TestFormat format;
  AttemptOutcome outcome = channel.Send(AWebhook(receiver.Url("/")), AnEnvelope(), format);
  EXPECT_EQ(outcome.status, std::nullopt);
  EXPECT_TRUE(outcome.error.starts_with("timed out")) << outcome.error;
  EXPECT_FALSE(outcome.permanent);
  EXPECT_EQ(receiver.connections(), 1u) << "the request reached the receiver";
}

TEST(HttpChannel, TheGuardRefusesALoopbackReceiverWhenPrivateIsNotAllowedForGood) {
  LoopbackServer receiver({Answer("200 OK", "", "")});
  HttpChannel channel({.allow_private = false});
  TestFormat format;
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    const std::string url = fmt::format("http://{}:{}/", host, receiver.port());
    AttemptOutcome outcome = channel.Send(AWebhook(url), AnEnvelope(), format);
    EXPECT_EQ(outcome.status, std::nullopt) << url;
    EXPECT_TRUE(outcome.permanent) << url;
    EXPECT_NE(outcome.error.find("127.0.0.1 is loopback (127.0.0.0/8)"), std::string::npos)
        << outcome.error;
    EXPECT_TRUE(outcome.error.ends_with("(allowed only with --webhook-allow-private)"))
        << outcome.error;
  }
  EXPECT_EQ(receiver.connections(), 0u);
}

TEST(HttpChannel, PlainHttpToAPublicAddressIsRefusedForGoodEvenWhenPrivateIsAllowed) {
  // Refused as the socket would be opened: nothing leaves the machine.
  HttpChannel channel(Allowed());
  TestFormat format;
  AttemptOutcome outcome = channel.Send(AWebhook("http://8.8.8.8/hook"), AnEnvelope(), format);
  EXPECT_EQ(outcome.status, std::nullopt);
  EXPECT_TRUE(outcome.permanent);
  EXPECT_EQ(outcome.error,
            "the receiver's address 8.8.8.8 is public, and a public receiver needs https://");
}

TEST(HttpChannel, AnUnusableUrlOrAnUnrenderableEventIsPermanent) {
  HttpChannel channel(Allowed());
  TestFormat format;
  AttemptOutcome bad_url = channel.Send(AWebhook("ftp://example.com/"), AnEnvelope(), format);
  EXPECT_TRUE(bad_url.permanent);
  EXPECT_EQ(bad_url.status, std::nullopt);
  EXPECT_FALSE(bad_url.error.empty());
  AttemptOutcome no_url = channel.Send(AWebhook(""), AnEnvelope(), format);
  EXPECT_TRUE(no_url.permanent);
  AttemptOutcome unrenderable =
      channel.Send(AWebhook("https://example.com/"), AnEnvelope("unrenderable"), format);
  EXPECT_TRUE(unrenderable.permanent);
  EXPECT_NE(unrenderable.error.find("the event lacks what the test needs"), std::string::npos)
      << unrenderable.error;
}

TEST(HttpChannel, NoReceiverIsATransportFailureToRetry) {
  std::string url;
  {
    LoopbackServer gone({});  // accepts nothing; closed when the scope ends
    url = gone.Url("/");
  }
  HttpChannel channel(Allowed());
  TestFormat format;
  AttemptOutcome outcome = channel.Send(AWebhook(url), AnEnvelope(), format);
  EXPECT_EQ(outcome.status, std::nullopt);
  EXPECT_FALSE(outcome.permanent);
  EXPECT_FALSE(outcome.error.empty());
}

TEST(HttpChannel, SendsFromSeveralThreadsAtOnce) {
  std::vector<std::string> answers(8, Answer("204 No Content", "", ""));
  LoopbackServer receiver(answers);
  HttpChannel channel(Allowed());
  TestFormat format;
  std::vector<std::thread> threads;
  std::vector<std::optional<int>> statuses(8);
  for (size_t i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      statuses[i] = channel.Send(AWebhook(receiver.Url("/")), AnEnvelope(), format).status;
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::optional<int>& s : statuses) EXPECT_EQ(s, 204);
}

// A self-signed certificate for `san` ("IP:127.0.0.1"), as PEM files in a temporary directory, and
// a TLS server context serving it.
class SelfSigned {
 public:
  explicit SelfSigned(const char* san) {
    char dir[] = "/tmp/vouch-http-channel-XXXXXX";
    dir_ = ::mkdtemp(dir);
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("vouch test receiver"), -1,
                               -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    X509_sign(cert, key, EVP_sha256());
    std::FILE* f = std::fopen(cert_file().c_str(), "w");
    PEM_write_X509(f, cert);
    std::fclose(f);
    tls_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(tls_, cert);
    SSL_CTX_use_PrivateKey(tls_, key);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  ~SelfSigned() {
    SSL_CTX_free(tls_);
    std::filesystem::remove_all(dir_);
  }
  std::string cert_file() const { return (dir_ / "cert.pem").string(); }
  SSL_CTX* tls() const { return tls_; }

 private:
  std::filesystem::path dir_;
  SSL_CTX* tls_ = nullptr;
};

TEST(HttpChannel, AnHttpsReceiverWhoseCertificateVerifiesIsReached) {
  SelfSigned pem("IP:127.0.0.1");
  LoopbackServer receiver({Answer("202 Accepted", "", "queued")}, LoopbackServer::Family::kV4,
                          pem.tls());
  HttpChannelOptions options = Allowed();
  options.ca_file = pem.cert_file();
  HttpChannel channel(options);
  TestFormat format;
  AttemptOutcome outcome = channel.Send(AWebhook(receiver.Url("/in")), AnEnvelope(), format);
  EXPECT_EQ(outcome.status, 202) << outcome.error;
  EXPECT_EQ(outcome.response, "queued");
  ASSERT_EQ(receiver.received().size(), 1u);
  EXPECT_TRUE(receiver.received()[0].starts_with("POST /in HTTP/1.1\r\n"));
}

TEST(HttpChannel, AnUntrustedCertificateOrOneForAnotherHostIsAFailureNotAnAnswer) {
  SelfSigned untrusted("IP:127.0.0.1");
  SelfSigned other_host("DNS:other.example");
  struct Case {
    std::string_view label;
    SSL_CTX* served;
    std::string ca_file;
  } cases[] = {
      {"not signed by a trusted CA", untrusted.tls(), ""},
      {"for another host", other_host.tls(), other_host.cert_file()},
  };
  for (const Case& c : cases) {
    LoopbackServer receiver({Answer("200 OK", "", "")}, LoopbackServer::Family::kV4, c.served);
    HttpChannelOptions options = Allowed();
    options.ca_file = c.ca_file;
    HttpChannel channel(options);
    TestFormat format;
    AttemptOutcome outcome = channel.Send(AWebhook(receiver.Url("/")), AnEnvelope(), format);
    EXPECT_EQ(outcome.status, std::nullopt) << c.label;
    EXPECT_TRUE(outcome.error.starts_with("TLS: ")) << c.label << ": " << outcome.error;
    EXPECT_FALSE(outcome.permanent) << c.label << ": the certificate may be fixed";
    EXPECT_EQ(receiver.AwaitReceived(1), std::vector<std::string>{""})
        << c.label << ": the handshake failed, nothing was sent";
  }
}

// A receiver that hangs up while a large body is still being sent makes the sender's writes fail
// (EPIPE); that must be a failed attempt, never a SIGPIPE that ends the server.
class BigBodyFormat final : public Format {
 public:
  std::string_view name() const override { return "big"; }
  Result<Rendered> Render(const Envelope&) const override {
    return Rendered{.headers = {}, .body = std::string(8 << 20, 'b')};
  }
};

TEST(HttpChannel, AReceiverThatHangsUpMidRequestIsAFailedAttemptNotASignal) {
  SelfSigned pem("IP:127.0.0.1");
  for (SSL_CTX* tls : {static_cast<SSL_CTX*>(nullptr), pem.tls()}) {
    LoopbackServer receiver({std::string(LoopbackServer::kHangUp)}, LoopbackServer::Family::kV4,
                            tls);
    HttpChannelOptions options = Allowed();
    options.ca_file = pem.cert_file();
    HttpChannel channel(options);
    BigBodyFormat format;
    AttemptOutcome outcome = channel.Send(AWebhook(receiver.Url("/")), AnEnvelope(), format);
    EXPECT_EQ(outcome.status, std::nullopt) << (tls ? "https" : "http");
    EXPECT_FALSE(outcome.error.empty());
    EXPECT_FALSE(outcome.permanent);
  }
}

TEST(RetryAfter, ParsesSecondsAndTheThreeHttpDateForms) {
  EXPECT_EQ(ParseRetryAfter("0", kNow), 0);
  EXPECT_EQ(ParseRetryAfter(" 120 ", kNow), 120'000);
  EXPECT_EQ(ParseRetryAfter("99999999999999999999999", kNow), TimeMs{1'000'000'000} * 1000);
  EXPECT_EQ(ParseRetryAfter("Tue, 14 Nov 2023 22:14:50 GMT", kNow), 90'000);
  EXPECT_EQ(ParseRetryAfter("Tuesday, 14-Nov-23 22:14:50 GMT", kNow), 90'000);
  EXPECT_EQ(ParseRetryAfter("Tue Nov 14 22:14:50 2023", kNow), 90'000);
  EXPECT_EQ(ParseRetryAfter("Sun Nov  6 08:49:37 1994", kNow), 0) << "a date past is no wait";
}

TEST(RetryAfter, RefusesWhatIsNeither) {
  for (std::string_view v : {"", " ", "-5", "1.5", "soon", "Tue, 14 Nov 2023 22:14:50",
                             "Tue, 14 Nov 2023 22:14:50 GMT trailing"}) {
    EXPECT_EQ(ParseRetryAfter(v, kNow), std::nullopt) << v;
  }
}

}  // namespace
}  // namespace vouch::notify

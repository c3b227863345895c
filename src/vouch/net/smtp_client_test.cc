// The SMTP client's checks and its failures without a server (the conversation with a real one is
// tests/integration/test_email_notifications.py, against aiosmtpd).
#include "vouch/net/smtp_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace vouch::net {
namespace {

TEST(SmtpClientTest, AcceptsSmtpAndSmtpsUrlsWithAHostOnly) {
  EXPECT_TRUE(CheckSmtpUrl("smtp://mail.example.com:587").ok());
  EXPECT_TRUE(CheckSmtpUrl("smtps://mail.example.com").ok());
  EXPECT_TRUE(CheckSmtpUrl("smtp://127.0.0.1:2525/vouch.example.com").ok());
  for (std::string_view bad :
       {"", "http://mail.example.com", "smtp://", "smtp://:25", "smtp://mail example.com",
        "smtp://mail.example.com/?x", "smtp://mail.example.com\r\n"}) {
    EXPECT_EQ(CheckSmtpUrl(bad).code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(SmtpClientTest, RefusesCredentialsInTheUrlWithoutEchoingThem) {
  Status s = CheckSmtpUrl("smtp://user:s3cret@mail.example.com");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().find("s3cret"), std::string::npos) << s.message();
}

TEST(SmtpClientTest, ParsesStartTlsModes) {
  EXPECT_EQ(*ParseStartTls("required"), StartTls::kRequired);
  EXPECT_EQ(*ParseStartTls("opportunistic"), StartTls::kOpportunistic);
  EXPECT_EQ(*ParseStartTls("off"), StartTls::kOff);
  EXPECT_EQ(ParseStartTls("yes").status().code(), StatusCode::kInvalidArgument);
  for (StartTls s : {StartTls::kRequired, StartTls::kOpportunistic, StartTls::kOff}) {
    EXPECT_EQ(*ParseStartTls(StartTlsName(s)), s);
  }
}

TEST(SmtpClientTest, RefusesAddressesThatCouldInjectACommand) {
  CurlSmtpClient client({.url = "smtp://127.0.0.1:1", .starttls = StartTls::kOff});
  for (const SmtpMessage& m :
       {SmtpMessage{.from = "a@example.com\r\nRCPT TO:<x@example.com>", .to = {"b@example.com"}},
        SmtpMessage{.from = "a@example.com", .to = {"b@example.com>\r\nDATA"}},
        SmtpMessage{.from = "a@example.com", .to = {}}}) {
    EXPECT_EQ(client.Send(m).status().code(), StatusCode::kInvalidArgument);
  }
}

// A loopback port nothing listens on (bound, then closed).
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(SmtpClientTest, NoServerIsUnavailableNotAnAnswer) {
  CurlSmtpClient client({.url = "smtp://127.0.0.1:" + std::to_string(ClosedPort()),
                         .starttls = StartTls::kOff,
                         .connect_timeout = std::chrono::milliseconds(2000),
                         .timeout = std::chrono::milliseconds(5000)});
  Result<SmtpReply> r =
      client.Send({.from = "a@example.com", .to = {"b@example.com"}, .data = "Subject: x\r\n\r\n"});
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(r.status().message().starts_with("no answer from the SMTP server"))
      << r.status().message();
}

}  // namespace
}  // namespace vouch::net

#include "vouch/notify/email_format.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vouch::notify {
namespace {

json::object J(std::string_view text) { return ParseJsonObject(text).value(); }

// request.opened as the outbox carries it: the canonical event with the recipients.
Envelope Opened() {
  Envelope e;
  e.delivery_id = "dlv_2b1c9f";
  e.attempt = 1;
  e.event_seq = 42;
  e.action = "request.opened";
  e.event = J(R"({
    "schema": 2, "seq": 42, "time": "2026-12-06T16:32:19.000Z", "time_ms": 1796574739000,
    "actor": {"id": 7, "name": "dana", "auth": "token"},
    "source": {"door": "native", "address": "10.9.8.7", "user_agent": "SecretAgent/1.0"},
    "action": "request.opened",
    "target": {"type": "approval_request", "model": "fraud", "version": 3, "request": 12,
               "to": "stage:Production"},
    "before": null, "after": {"state": "open"},
    "comment": "AUC up <b>0.02</b> & \"fair\"\nsecond line",
    "request_id": "r-1", "outcome": "done",
    "recipients": [{"rule": 0, "text": "2 of role:ml-engineer", "required": 2, "missing": 2,
                    "could_approve": ["eli", "fay"]}]})");
  e.now_ms = 1796574739000;
  e.public_url = "https://vouch.example.com/";
  e.webhook_id = 3;
  e.webhook_name = "reviewers";
  return e;
}

std::string Header(const Rendered& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "";
}

int Hex(char c) { return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : c - 'A' + 10; }

// A reader's quoted-printable decoding (RFC 2045 6.7), written apart from the encoder.
std::string DecodeQp(std::string_view qp) {
  std::string out;
  for (size_t i = 0; i < qp.size(); ++i) {
    if (qp[i] == '=' && i + 2 < qp.size() && qp[i + 1] == '\r' && qp[i + 2] == '\n') {
      i += 2;
    } else if (qp[i] == '=' && i + 2 < qp.size()) {
      out += static_cast<char>(Hex(qp[i + 1]) * 16 + Hex(qp[i + 2]));
      i += 2;
    } else {
      out += qp[i];
    }
  }
  return out;
}

std::string DecodeBase64(std::string_view b64) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : b64) {
    if (c == '=') break;
    acc = (acc << 6) | static_cast<uint32_t>(kAlphabet.find(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

// Decodes a header of RFC 2047 "B" words (folded with CRLF SP) or plain text.
std::string DecodeHeader(std::string_view h) {
  if (!h.starts_with("=?")) return std::string(h);
  std::string out;
  size_t pos = 0;
  while ((pos = h.find("=?UTF-8?B?", pos)) != std::string_view::npos) {
    size_t start = pos + 10;
    size_t end = h.find("?=", start);
    out += DecodeBase64(h.substr(start, end - start));
    pos = end + 2;
  }
  return out;
}

struct Part {
  std::string headers;
  std::string body;  // decoded
};

// Splits the multipart body at `boundary` into its parts.
std::vector<Part> Parts(const std::string& body, const std::string& boundary) {
  std::vector<Part> parts;
  const std::string delimiter = "--" + boundary;
  size_t pos = body.find(delimiter + "\r\n");
  while (pos != std::string::npos) {
    size_t start = pos + delimiter.size() + 2;
    size_t next = body.find("\r\n" + delimiter, start);
    if (next == std::string::npos) break;
    std::string part = body.substr(start, next - start);
    size_t blank = part.find("\r\n\r\n");
    parts.push_back({part.substr(0, blank), DecodeQp(part.substr(blank + 4))});
    pos = body.compare(next + 2 + delimiter.size(), 2, "--") == 0 ? std::string::npos : next + 2;
  }
  return parts;
}

std::string BoundaryOf(const Rendered& r) {
  std::string ct = Header(r, "Content-Type");
  size_t at = ct.find("boundary=\"");
  return ct.substr(at + 10, ct.find('"', at + 10) - at - 10);
}

TEST(EmailFormatTest, RendersAMultipartAlternativeMessageWithBothParts) {
  EmailFormat format;
  Result<Rendered> r = format.Render(Opened());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Header(*r, "MIME-Version"), "1.0");
  EXPECT_TRUE(Header(*r, "Content-Type").starts_with("multipart/alternative; boundary=\"=_vouch_"));
  EXPECT_EQ(Header(*r, "Date"), "Sun, 06 Dec 2026 16:32:19 +0000");
  EXPECT_EQ(Header(*r, "Message-ID"), "<dlv_2b1c9f@vouch.example.com>");
  EXPECT_EQ(Header(*r, "Auto-Submitted"), "auto-generated");
  EXPECT_EQ(DecodeHeader(Header(*r, "Subject")),
            "[vouch] Approval requested: fraud version 3 to stage:Production");

  std::vector<Part> parts = Parts(r->body, BoundaryOf(*r));
  ASSERT_EQ(parts.size(), 2u) << r->body;
  EXPECT_NE(parts[0].headers.find("Content-Type: text/plain; charset=utf-8"), std::string::npos);
  EXPECT_NE(parts[0].headers.find("Content-Transfer-Encoding: quoted-printable"),
            std::string::npos);
  EXPECT_NE(parts[1].headers.find("Content-Type: text/html; charset=utf-8"), std::string::npos);
  const std::string& text = parts[0].body;
  EXPECT_NE(text.find("dana asks to move version 3 of model fraud to stage:Production (request "
                      "12)."),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Who:  dana"), std::string::npos);
  EXPECT_NE(text.find("Why:  AUC up <b>0.02</b> & \"fair\"\r\n      second line"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("2 of role:ml-engineer (2 missing): eli, fay"), std::string::npos);
  EXPECT_NE(text.find("https://vouch.example.com/api/v1/requests/12"), std::string::npos);
  const std::string& html = parts[1].body;
  EXPECT_NE(html.find("<a href=\"https://vouch.example.com/api/v1/requests/12\">"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<li>2 of role:ml-engineer (2 missing): eli, fay</li>"), std::string::npos);
}

TEST(EmailFormatTest, EscapesEveryValueInTheHtmlPart) {
  Envelope e = Opened();
  e.event["target"].as_object()["model"] = "<img src=x onerror=alert(1)>";
  e.event["actor"].as_object()["name"] = "eve\"&'";
  Result<Rendered> r = EmailFormat().Render(e);
  ASSERT_TRUE(r.ok());
  std::vector<Part> parts = Parts(r->body, BoundaryOf(*r));
  ASSERT_EQ(parts.size(), 2u);
  const std::string& html = parts[1].body;
  EXPECT_EQ(html.find("<img"), std::string::npos) << html;
  EXPECT_EQ(html.find("<b>"), std::string::npos) << html;
  EXPECT_NE(html.find("AUC up &lt;b&gt;0.02&lt;/b&gt; &amp; &quot;fair&quot;<br>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("eve&quot;&amp;&#39;"), std::string::npos) << html;
  EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
}

TEST(EmailFormatTest, LeavesOutClientAddressesAndUserAgents) {
  Result<Rendered> r = EmailFormat().Render(Opened());
  ASSERT_TRUE(r.ok());
  std::vector<Part> parts = Parts(r->body, BoundaryOf(*r));
  ASSERT_EQ(parts.size(), 2u);
  for (const std::string& s : {r->body, parts[0].body, parts[1].body}) {
    EXPECT_EQ(s.find("10.9.8.7"), std::string::npos);
    EXPECT_EQ(s.find("SecretAgent"), std::string::npos);
  }
}

TEST(EmailFormatTest, ARetryIsTheSameMessageButForItsDate) {
  Envelope first = Opened();
  Envelope retry = Opened();
  retry.attempt = 3;
  retry.now_ms += 3'600'000;
  Result<Rendered> a = EmailFormat().Render(first);
  Result<Rendered> b = EmailFormat().Render(retry);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(Header(*a, "Message-ID"), Header(*b, "Message-ID"));
  EXPECT_EQ(Header(*a, "Subject"), Header(*b, "Subject"));
  EXPECT_EQ(a->body, b->body);
  EXPECT_NE(Header(*a, "Date"), Header(*b, "Date"));
  Envelope other = Opened();
  other.delivery_id = "dlv_other";
  Result<Rendered> c = EmailFormat().Render(other);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(Header(*a, "Message-ID"), Header(*c, "Message-ID"));
  EXPECT_NE(BoundaryOf(*a), BoundaryOf(*c));
}

TEST(EmailFormatTest, EncodesANonAsciiSubjectAsEncodedWordsThatDecodeBack) {
  Envelope e = Opened();
  e.event["target"].as_object()["model"] = "détection-fraude-€-モデル-with-a-rather-long-name";
  Result<Rendered> r = EmailFormat().Render(e);
  ASSERT_TRUE(r.ok());
  const std::string subject = Header(*r, "Subject");
  EXPECT_TRUE(subject.starts_with("=?UTF-8?B?")) << subject;
  for (unsigned char c : subject) EXPECT_LT(c, 0x80);
  size_t start = 0;
  while (start < subject.size()) {
    size_t end = subject.find("\r\n", start);
    std::string line = subject.substr(start, end == std::string::npos ? end : end - start);
    EXPECT_LE(line.size(), 76u) << line;
    if (end == std::string::npos) break;
    EXPECT_EQ(subject[end + 2], ' ');  // folded
    start = end + 2;
  }
  EXPECT_EQ(DecodeHeader(subject),
            "[vouch] Approval requested: détection-fraude-€-モデル-with-a-rather-long-name version "
            "3 to stage:Production");
}

TEST(EmailFormatTest, AValueCannotInjectAHeader) {
  Envelope e = Opened();
  e.event["target"].as_object()["model"] = "m\r\nBcc: victim@example.com";
  Result<Rendered> r = EmailFormat().Render(e);
  ASSERT_TRUE(r.ok());
  std::string message = AssembleMessage("vouch@example.com", {"a@example.com"}, *r);
  std::string head = message.substr(0, message.find("\r\n\r\n"));
  EXPECT_EQ(head.find("\r\nBcc:"), std::string::npos) << head;
  EXPECT_EQ(DecodeHeader(Header(*r, "Subject")),
            "[vouch] Approval requested: m  Bcc: victim@example.com version 3 to stage:Production");
}

TEST(EmailFormatTest, QuotedPrintableKeepsLinesShortAndRoundTrips) {
  const std::string text = "a=b \ttrailing space \n" + std::string(200, 'x') + "\n.leading dot\n" +
                           "ünïcödé " + std::string(80, 'y') + " end \n";
  const std::string qp = QuotedPrintable(text);
  size_t start = 0;
  while (start < qp.size()) {
    size_t end = qp.find("\r\n", start);
    if (end == std::string::npos) end = qp.size();
    const std::string line = qp.substr(start, end - start);
    EXPECT_LE(line.size(), 76u) << line;
    EXPECT_FALSE(line.ends_with(" ")) << line;
    EXPECT_FALSE(line.starts_with(".")) << line;
    for (unsigned char c : line) EXPECT_TRUE(c == 9 || (c >= 32 && c < 127)) << line;
    start = end + 2;
  }
  std::string expected;
  for (char c : text) expected += c == '\n' ? std::string("\r\n") : std::string(1, c);
  EXPECT_EQ(DecodeQp(qp), expected);
}

TEST(EmailFormatTest, LinksOnlyWithAPublicUrlAndEncodesTheModelName) {
  Envelope e = Opened();
  e.public_url = "";
  Result<EmailContent> c = ComposeEmail(e);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->text.find("http"), std::string::npos) << c->text;
  EXPECT_EQ(c->html.find("<a "), std::string::npos);

  json::object version =
      J(R"({"target": {"type": "model_version", "model": "a/b c", "version": 2}})");
  EXPECT_EQ(EventLink(version, "https://r.example/"),
            "https://r.example/api/v1/models/a%2Fb%20c/versions/2");
  EXPECT_EQ(EventLink(J(R"({"target": {"type": "model", "model": "m"}})"), "https://r.example"),
            "https://r.example/api/v1/models/m");
  EXPECT_EQ(EventLink(J(R"({"target": {"type": "policy", "policy": "p"}})"), "https://r.example"),
            "");
}

TEST(EmailFormatTest, SaysWhatHappenedForOtherEvents) {
  Envelope e = Opened();
  e.action = "request.approved";
  e.event["action"] = "request.approved";
  e.event["actor"].as_object()["name"] = "eli";
  e.event.erase("recipients");
  Result<EmailContent> c = ComposeEmail(e);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->subject, "[vouch] Approved: fraud version 3 to stage:Production");
  EXPECT_NE(c->text.find("The request 12 to move version 3 of model fraud to stage:Production was "
                         "approved by eli."),
            std::string::npos)
      << c->text;
  EXPECT_EQ(c->text.find("Waiting for"), std::string::npos);

  e.action = "model_version.stage_changed";
  e.event = J(R"({"seq": 9, "action": "model_version.stage_changed", "actor": {"name": "ci"},
                  "target": {"type": "model_version", "model": "fraud", "version": 4},
                  "comment": ""})");
  c = ComposeEmail(e);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->subject, "[vouch] model_version.stage_changed: version 4 of model fraud");
  EXPECT_NE(c->text.find("What: model_version.stage_changed"), std::string::npos);
  EXPECT_NE(c->text.find(", by ci."), std::string::npos) << c->text;
  EXPECT_EQ(c->text.find("Why:"), std::string::npos);

  e.action = "";
  e.event = J(R"({"seq": 9})");
  EXPECT_EQ(ComposeEmail(e).status().code(), StatusCode::kInvalidArgument);
}

TEST(EmailFormatTest, AssemblesFromAndToBeforeTheRenderedHeaders) {
  Rendered r{.headers = {{"Subject", "s"}}, .body = "body\r\n"};
  std::vector<std::string> to;
  for (int i = 0; i < 6; ++i) to.push_back(fmt::format("reviewer-{}@example.com", i));
  std::string m = AssembleMessage("vouch <noreply@example.com>", to, r);
  EXPECT_TRUE(m.starts_with("From: vouch <noreply@example.com>\r\nTo: reviewer-0@example.com, "))
      << m;
  EXPECT_TRUE(m.ends_with("\r\nSubject: s\r\n\r\nbody\r\n")) << m;
  std::string head = m.substr(0, m.find("\r\n\r\n"));
  size_t start = 0;
  while (start < head.size()) {
    size_t end = head.find("\r\n", start);
    if (end == std::string::npos) end = head.size();
    EXPECT_LE(end - start, 78u);
    start = end + 2;
  }
  for (const std::string& a : to) EXPECT_NE(head.find(a), std::string::npos);
}

}  // namespace
}  // namespace vouch::notify

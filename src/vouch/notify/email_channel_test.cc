#include "vouch/notify/email_channel.h"

#include <gtest/gtest.h>

#include <map>

#include "vouch/notify/email_format.h"

namespace vouch::notify {
namespace {

class FakeDirectory final : public RecipientDirectory {
 public:
  std::map<std::string, Mailbox> people;
  std::map<int64_t, Mailbox> requesters;
  int calls = 0;

  Result<std::vector<Mailbox>> People(const std::vector<std::string>& names) override {
    ++calls;
    std::vector<Mailbox> out;
    for (const auto& n : names) {
      auto it = people.find(n);
      out.push_back(it != people.end() ? it->second
                                       : Mailbox{.name = n, .skip_reason = "does not exist"});
    }
    return out;
  }
  Result<std::optional<Mailbox>> Requester(int64_t id) override {
    ++calls;
    auto it = requesters.find(id);
    if (it == requesters.end()) return std::optional<Mailbox>();
    return std::optional<Mailbox>(it->second);
  }
};

// Records what it was asked to send and answers as scripted.
struct FakeSmtp final : public net::SmtpClient {
  std::vector<net::SmtpMessage>* sent;
  Result<net::SmtpReply> answer;
  FakeSmtp(std::vector<net::SmtpMessage>* s, Result<net::SmtpReply> a)
      : sent(s), answer(std::move(a)) {}
  Result<net::SmtpReply> Send(const net::SmtpMessage& m) override {
    sent->push_back(m);
    return answer;
  }
};

class EmailChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::make_shared<FakeDirectory>();
    directory_->people["eli"] = {.name = "eli", .email = "eli@example.com"};
    directory_->people["fay"] = {.name = "fay", .skip_reason = "has no e-mail"};
    directory_->people["gus"] = {.name = "gus", .skip_reason = "is disabled"};
    directory_->requesters[12] = {.name = "dana", .email = "Dana@Example.com"};
  }

  EmailChannel Channel() {
    return EmailChannel(
        {.from = "vouch <noreply@example.com>"},
        [this] { return std::make_unique<FakeSmtp>(&sent_, answer_); }, directory_);
  }

  static Envelope Event(std::string action) {
    Envelope e;
    e.delivery_id = "dlv_1";
    e.event_seq = 5;
    e.action = action;
    e.event = ParseJsonObject(R"({"seq": 5, "time": "2026-12-06T16:32:19.000Z",
        "actor": {"name": "dana"}, "comment": "",
        "target": {"type": "approval_request", "model": "fraud", "version": 3, "request": 12,
                   "to": "stage:Production"},
        "recipients": [{"rule": 0, "text": "2 of role:ml-engineer", "required": 2, "missing": 2,
                        "could_approve": ["eli", "fay", "gus"]},
                       {"rule": 1, "text": "1 of user:eli", "required": 1, "missing": 1,
                        "could_approve": ["eli"]}]})")
                  .value();
    e.event["action"] = action;
    e.now_ms = 1'796'574'739'000;
    return e;
  }

  static store::WebhookRecord Subscription(std::string email_to) {
    store::WebhookRecord w;
    w.id = 1;
    w.name = "mail";
    w.format = "email";
    w.email_to = std::move(email_to);
    return w;
  }

  std::shared_ptr<FakeDirectory> directory_;
  std::vector<net::SmtpMessage> sent_;
  Result<net::SmtpReply> answer_ = net::SmtpReply{.code = 250, .text = "OK queued"};
  EmailFormat format_;
};

TEST_F(EmailChannelTest, MailsTheReviewersWhoCanApproveAndSaysWhoWasSkipped) {
  AttemptOutcome out =
      Channel().Send(Subscription(R"(["reviewers"])"), Event("request.opened"), format_);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].from, "noreply@example.com");
  EXPECT_EQ(sent_[0].to, std::vector<std::string>{"eli@example.com"});
  EXPECT_TRUE(sent_[0].data.starts_with(
      "From: vouch <noreply@example.com>\r\nTo: eli@example.com\r\nSubject: "))
      << sent_[0].data;
  EXPECT_EQ(out.status, 250);
  EXPECT_FALSE(out.permanent);
  EXPECT_FALSE(out.skipped);
  EXPECT_EQ(out.response, "250 OK queued; not mailed: fay (has no e-mail), gus (is disabled)");
  EXPECT_TRUE(out.error.empty());
}

TEST_F(EmailChannelTest, MailsTheRequesterOnlyWhenTheirRequestIsDecided) {
  for (std::string action :
       {"request.approved", "request.rejected", "request.applied", "request.expired"}) {
    sent_.clear();
    AttemptOutcome out = Channel().Send(Subscription(R"(["requester"])"), Event(action), format_);
    ASSERT_EQ(sent_.size(), 1u) << action;
    EXPECT_EQ(sent_[0].to, std::vector<std::string>{"Dana@Example.com"});
    EXPECT_EQ(out.status, 250);
  }
  sent_.clear();
  AttemptOutcome out =
      Channel().Send(Subscription(R"(["requester"])"), Event("request.opened"), format_);
  EXPECT_TRUE(sent_.empty());
  EXPECT_TRUE(out.skipped);
  EXPECT_TRUE(out.permanent);
  EXPECT_FALSE(out.status.has_value());
  EXPECT_EQ(out.error, "nobody to mail for request.opened");
}

TEST_F(EmailChannelTest, MailsFixedAddressesForEveryEventEachAddressOnce) {
  AttemptOutcome out =
      Channel().Send(Subscription(R"(["ops@example.com", "requester", "dana@example.com"])"),
                     Event("request.approved"), format_);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].to, (std::vector<std::string>{"ops@example.com", "Dana@Example.com"}));
  EXPECT_EQ(out.status, 250);
  sent_.clear();
  out = Channel().Send(Subscription(R"(["ops@example.com", "reviewers"])"),
                       Event("model_version.created"), format_);
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].to, std::vector<std::string>{"ops@example.com"});
  EXPECT_EQ(directory_->calls, 1);  // reviewers are looked up only for the events naming them
}

TEST_F(EmailChannelTest, NobodyToMailIsSkippedWithTheReason) {
  Envelope e = Event("request.opened");
  e.event["recipients"] = ParseJson(R"([{"rule": 0, "text": "1 of role:x", "required": 1,
      "missing": 1, "could_approve": ["fay"]}])")
                              .value();
  AttemptOutcome out = Channel().Send(Subscription(R"(["reviewers"])"), e, format_);
  EXPECT_TRUE(sent_.empty());
  EXPECT_TRUE(out.skipped);
  EXPECT_EQ(out.error, "nobody to mail for request.opened; not mailed: fay (has no e-mail)");
}

TEST_F(EmailChannelTest, ARefusalIsAnAnswerAndOnlyA5xxIsPermanent) {
  answer_ = net::SmtpReply{.code = 451, .text = "try later"};
  AttemptOutcome out =
      Channel().Send(Subscription(R"(["ops@example.com"])"), Event("request.opened"), format_);
  EXPECT_EQ(out.status, 451);
  EXPECT_FALSE(out.permanent);
  EXPECT_EQ(out.error, "the SMTP server refused the message: 451 try later");

  answer_ = net::SmtpReply{.code = 550, .text = "no such user"};
  out = Channel().Send(Subscription(R"(["ops@example.com"])"), Event("request.opened"), format_);
  EXPECT_EQ(out.status, 550);
  EXPECT_TRUE(out.permanent);
  EXPECT_FALSE(out.skipped);

  answer_ = Unavailable("no answer from the SMTP server: connection refused");
  out = Channel().Send(Subscription(R"(["ops@example.com"])"), Event("request.opened"), format_);
  EXPECT_FALSE(out.status.has_value());
  EXPECT_FALSE(out.permanent);
  EXPECT_EQ(out.error, "no answer from the SMTP server: connection refused");
}

TEST_F(EmailChannelTest, WithoutAnSmtpServerEveryAttemptFailsAndIsRetried) {
  EmailChannel channel({.from = "noreply@example.com"}, nullptr, directory_);
  AttemptOutcome out =
      channel.Send(Subscription(R"(["ops@example.com"])"), Event("request.opened"), format_);
  EXPECT_FALSE(out.status.has_value());
  EXPECT_FALSE(out.permanent);
  EXPECT_EQ(out.error, "no SMTP server is configured (--smtp-url)");
}

TEST(EmailToTest, AcceptsReviewersRequesterAndPlainAddressesOnly) {
  EXPECT_TRUE(CheckEmailTo({"reviewers", "requester", "ops@example.com"}).ok());
  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{{},
                                             {"everyone"},
                                             {"Ops <ops@example.com>"},
                                             {"ops@example.com\r\nBcc: x@example.com"},
                                             {"a@b@c"},
                                             {"@example.com"},
                                             {"ops @example.com"}}) {
    Status s = CheckEmailTo(bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << (bad.empty() ? "" : bad[0]);
    EXPECT_TRUE(s.message().starts_with("email_to: ")) << s.message();
  }
  EXPECT_EQ(CheckEmailTo(std::vector<std::string>(51, "a@example.com")).code(),
            StatusCode::kInvalidArgument);
}

TEST(EmailToTest, ChecksTheSender) {
  EXPECT_TRUE(CheckSmtpFrom("noreply@example.com").ok());
  EXPECT_TRUE(CheckSmtpFrom("vouch registry <noreply@example.com>").ok());
  EXPECT_EQ(CheckSmtpFrom("").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckSmtpFrom("vouch").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckSmtpFrom("a@example.com\r\nBcc: b@example.com").code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vouch::notify

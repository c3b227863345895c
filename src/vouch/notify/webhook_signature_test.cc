#include "vouch/notify/webhook_signature.h"
#include "vouch/util/crypto.h"

#include <gtest/gtest.h>

namespace vouch::notify {
namespace {

TEST(WebhookSignatureTest, MatchesTheStandardWebhooksReferenceVector) {
  // The vector the Standard Webhooks libraries test against; recomputed with Python's hmac:
  // base64(hmac.new(b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
  //   b'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}', sha256).digest())
  EXPECT_EQ(SignV1(StandardWebhooksKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
                   "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(WebhookSignatureTest, APlainSecretSignsWithItsOwnBytesAsMlflowDoes) {
  // base64(hmac.new(b"mlflow-secret-0123", b"d-1.1700000000.{}", sha256).digest())
  EXPECT_EQ(StandardWebhooksKey("mlflow-secret-0123"), "mlflow-secret-0123");
  EXPECT_EQ(SignV1("mlflow-secret-0123", "d-1", "1700000000", "{}"),
            "v1,pTxQa+2VFpNds8SiwCn23qdmGDZezy2UnzO1c0tTC+8=");
  // A whsec_ secret whose rest is not base64 is taken as plain text.
  EXPECT_EQ(StandardWebhooksKey("whsec_not base64!"), "whsec_not base64!");
}

TEST(WebhookSignatureTest, Base64RoundTripsAndRefusesWhatIsNotBase64) {
  for (std::string_view s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00"}) {
    EXPECT_EQ(Base64Decode(Base64Encode(s)), std::string(s));
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64DecodeLoose("Zm8"), "fo");  // padding optional
  EXPECT_EQ(Base64DecodeLoose("Zm=8"), std::nullopt);
  EXPECT_EQ(Base64DecodeLoose("Zm9v-_"), std::nullopt);
  EXPECT_EQ(Base64DecodeLoose("Z"), std::nullopt);
}

TEST(WebhookSignatureTest, TimestampsAreWholeUnixSeconds) {
  EXPECT_EQ(UnixSecondsText(1614265330999), "1614265330");
  EXPECT_EQ(UnixSecondsText(0), "0");
}

}  // namespace
}  // namespace vouch::notify

// The transport's contract without a network: how libcurl's failures become statuses (and so exit
// codes), and where the CA file comes from.
#include "vouch/cli/http_client.h"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "vouch/cli/app.h"
#include "vouch/cli/fake_transport.h"
#include "vouch/cli/session.h"

namespace vouch::cli {
namespace {

const ClientOptions kHttps{"https://vouch.example:8443", "t", "/etc/vouch/ca.pem"};

TEST(TransportFailure, AnUntrustedCertificateIsUnreachableAndSaysWhichCheckFailed) {
  Status s =
      TransportFailure(CURLE_PEER_FAILED_VERIFICATION,
                       "SSL certificate problem: unable to get local issuer certificate", kHttps);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("TLS certificate of https://vouch.example:8443"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("unable to get local issuer certificate"), std::string::npos);
  EXPECT_NE(s.message().find("--ca-file /etc/vouch/ca.pem"), std::string::npos);
}

TEST(TransportFailure, WithoutACaFileTheMessageNamesTheSystemTrustStore) {
  Status s = TransportFailure(CURLE_PEER_FAILED_VERIFICATION, "no alternative certificate subject",
                              {"https://h", "", ""});
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("system's trust store"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("VOUCH_CA_FILE"), std::string::npos);
}

TEST(TransportFailure, AnUnusableCaFileOrUrlIsAUsageError) {
  EXPECT_EQ(TransportFailure(CURLE_SSL_CACERT_BADFILE, "bad", kHttps).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(TransportFailure(CURLE_URL_MALFORMAT, "bad", kHttps).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(TransportFailure(CURLE_UNSUPPORTED_PROTOCOL, "bad", kHttps).code(),
            StatusCode::kInvalidArgument);
}

TEST(TransportFailure, HandshakeAndConnectionFailuresAreUnreachable) {
  Status handshake = TransportFailure(CURLE_SSL_CONNECT_ERROR, "wrong version number", kHttps);
  EXPECT_EQ(handshake.code(), StatusCode::kUnavailable);
  EXPECT_NE(handshake.message().find("TLS handshake"), std::string::npos);
  EXPECT_EQ(TransportFailure(CURLE_COULDNT_CONNECT, "refused", kHttps).code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(TransportFailure(CURLE_GOT_NOTHING, "empty reply", kHttps).code(),
            StatusCode::kUnavailable);
}

class CaFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("VOUCH_SERVER");
    ::unsetenv("VOUCH_TOKEN");
    ::unsetenv("VOUCH_CA_FILE");
    ca_ = std::filesystem::temp_directory_path() /
          ("vouch-ca-" + std::to_string(::getpid()) + ".pem");
    std::ofstream(ca_) << "-----BEGIN CERTIFICATE-----\n";
  }
  void TearDown() override {
    ::unsetenv("VOUCH_CA_FILE");
    std::filesystem::remove(ca_);
  }

  int Run(std::vector<const char*> args) {
    args.insert(args.begin(), "vouch");
    const SystemClock clock;
    return RunCli(static_cast<int>(args.size()), args.data(), transport_.Factory(), clock, out_,
                  err_);
  }

  std::filesystem::path ca_;
  FakeTransport transport_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(CaFileTest, CaFileComesFromTheFlagOrFromVouchCaFile) {
  EXPECT_EQ(Run({"--ca-file", ca_.c_str(), "whoami"}), kExitOk);
  EXPECT_EQ(transport_.options_seen.ca_file, ca_.string());
  transport_.options_seen = {};
  ::setenv("VOUCH_CA_FILE", ca_.c_str(), 1);
  EXPECT_EQ(Run({"whoami"}), kExitOk);
  EXPECT_EQ(transport_.options_seen.ca_file, ca_.string());
}

TEST_F(CaFileTest, AMissingCaFileIsAUsageError) {
  EXPECT_EQ(Run({"--ca-file", "/nonexistent/ca.pem", "whoami"}), kExitUsage);
  EXPECT_TRUE(transport_.requests.empty());
}

TEST_F(CaFileTest, ARejectedServerCertificateExitsUnreachableWithTheMessage) {
  transport_.FailNext(TransportFailure(CURLE_PEER_FAILED_VERIFICATION,
                                       "SSL certificate problem: self-signed certificate",
                                       {"https://h", "", ca_.string()}));
  EXPECT_EQ(Run({"--server", "https://h", "--ca-file", ca_.c_str(), "whoami"}), kExitUnreachable);
  EXPECT_NE(err_.str().find("TLS certificate"), std::string::npos) << err_.str();
}

}  // namespace
}  // namespace vouch::cli

// The export's files read back (export.h): events.jsonl split into lines exactly as stored, fed
// to the engine in any chunking; keys.txt; saved checkpoint files holding one note or several;
// and the derived CSV, CloudTrail and OCSF records of an event.
#include "vouch/audit/export.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "vouch/tlog/checkpoint.h"
#include "vouch/tlog/note.h"

namespace vouch::audit {
namespace {

std::string Event(int64_t seq) {
  return CanonicalJson(
             json::object{
                 {"schema", 2},
                 {"seq", seq},
                 {"time", "2026-01-02T03:04:05.678Z"},
                 {"time_ms", 1767323045678},
                 {"actor", json::object{{"id", 7}, {"name", "alice"}, {"auth", "token"}}},
                 {"source",
                  json::object{
                      {"door", "native"}, {"address", "10.0.0.1"}, {"user_agent", "vouch-cli"}}},
                 {"action", "model_version.stage_changed"},
                 {"target",
                  json::object{{"type", "model_version"}, {"model", "fraud"}, {"version", 3}}},
                 {"before", json::object{{"stage", "Staging"}}},
                 {"after", json::object{{"stage", "Production"}}},
                 {"comment", "=1+1, \"ship\""},
                 {"request_id", "req-1"},
                 {"outcome", "done"}})
      .value();
}

TEST(ExportEventReader, LinesAreFedAsStoredWhateverTheChunks) {
  std::string file;
  for (int i = 1; i <= 40; ++i) file += Event(i) + "\n";
  tlog::RightEdge edge;
  for (int i = 1; i <= 40; ++i) edge.Append(tlog::LeafHash(Event(i)));
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{300}, file.size()}) {
    LogVerifier v({});
    ExportEventReader reader(v);
    for (size_t at = 0; at < file.size(); at += chunk) {
      reader.Feed(std::string_view(file).substr(at, chunk));
    }
    reader.Finish();
    VerificationReport r = v.Finish();
    EXPECT_TRUE(r.ok()) << chunk;
    EXPECT_EQ(r.events, 40u);
    EXPECT_EQ(r.root, edge.Root()) << chunk;
  }
}

TEST(ExportEventReader, ACutLastLineAndAnEmptyLineAreNamed) {
  LogVerifier v({.position_name = "line"});
  ExportEventReader reader(v);
  reader.Feed(Event(1) + "\n\n" + Event(2));
  reader.Finish();
  VerificationReport r = v.Finish();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.events, 3u);
  std::vector<std::string> messages;
  for (const Finding& f : r.findings) messages.push_back(f.message);
  EXPECT_NE(
      std::find(messages.begin(), messages.end(), "line 2: an empty line where an event belongs"),
      messages.end());
  EXPECT_NE(std::find(messages.begin(), messages.end(),
                      "events.jsonl does not end in a newline: its last line is cut"),
            messages.end());
}

TEST(ExportKeys, KeysAreReadAndBadLinesNamed) {
  tlog::Signer signer = tlog::GenerateSigner("log.example/api/v1/audit/log").value();
  const std::string key = tlog::FormatVerifierKey(tlog::VerifierOf(signer));
  KeyFile file = ParseKeyFile("# the log's keys\n" + key + "\r\n\nnot-a-key\n");
  ASSERT_EQ(file.keys.size(), 1u);
  EXPECT_EQ(file.keys[0].key_id, signer.key_id);
  ASSERT_EQ(file.problems.size(), 1u);
  EXPECT_TRUE(file.problems[0].starts_with("keys.txt line 4: not a verifier key"))
      << file.problems[0];
}

TEST(SplitSignedNotes, OneOrSeveralNotesAreSplit) {
  tlog::Signer signer = tlog::GenerateSigner("log.example/api/v1/audit/log").value();
  std::vector<std::string> notes;
  for (uint64_t size : {3u, 9u}) {
    notes.push_back(
        tlog::SignCheckpoint({signer.name, size, tlog::LeafHash("x"), {}}, std::span(&signer, 1))
            .value());
  }
  EXPECT_EQ(SplitSignedNotes(notes[0]), std::vector<std::string>{notes[0]});
  EXPECT_EQ(SplitSignedNotes(notes[0] + notes[1]), notes);
  EXPECT_EQ(SplitSignedNotes(notes[0] + "\n" + notes[1]), notes);
  EXPECT_EQ(SplitSignedNotes(""), std::vector<std::string>{});
}

TEST(ExportFormats, CsvQuotesAndDefusesFormulas) {
  EXPECT_EQ(CsvHeader().substr(0, 9), "seq,time,");
  const std::string row = CsvRow(Event(5)).value();
  EXPECT_TRUE(row.starts_with("5,2026-01-02T03:04:05.678Z,alice,7,token,native,10.0.0.1,")) << row;
  EXPECT_NE(row.find(",\"'=1+1, \"\"ship\"\"\","), std::string::npos) << row;
  EXPECT_TRUE(row.ends_with("\r\n"));
  EXPECT_EQ(CsvRow("[1]").status().code(), StatusCode::kInvalidArgument);
}

TEST(ExportFormats, CloudTrailRecordHasTheFieldsToolsRead) {
  json::object r = CloudTrailRecord(Event(5)).value();
  EXPECT_EQ(r.at("eventVersion"), "1.08");
  EXPECT_EQ(r.at("eventTime"), "2026-01-02T03:04:05Z");
  EXPECT_EQ(r.at("eventName"), "model_version.stage_changed");
  EXPECT_EQ(r.at("eventSource"), "vouch");
  EXPECT_EQ(r.at("userIdentity").at("userName"), "alice");
  EXPECT_EQ(r.at("requestParameters").at("target").at("model"), "fraud");
  EXPECT_EQ(r.at("responseElements").at("stage"), "Production");
  EXPECT_EQ(r.at("requestID"), "req-1");
  EXPECT_EQ(r.at("eventID").as_string().size(), 36u);
  EXPECT_EQ(r.at("additionalEventData").at("seq"), 5);
  EXPECT_FALSE(r.contains("errorCode"));
  EXPECT_NE(CloudTrailRecord(Event(6)).value().at("eventID"), r.at("eventID"));
}

TEST(ExportFormats, ADenialIsAnErrorInCloudTrailAndAFailureInOcsf) {
  json::object e = ParseJsonObject(Event(8)).value();
  e["outcome"] = "denied";
  e["reason"] = "not allowed";
  e["action"] = "access.denied";
  const std::string body = CanonicalJson(e).value();
  json::object trail = CloudTrailRecord(body).value();
  EXPECT_EQ(trail.at("errorCode"), "AccessDenied");
  EXPECT_EQ(trail.at("errorMessage"), "not allowed");
  json::object ocsf = OcsfApiActivity(body).value();
  EXPECT_EQ(ocsf.at("status_id"), 2);
  EXPECT_EQ(ocsf.at("activity_id"), 99);
  EXPECT_EQ(ocsf.at("type_uid"), 600399);
}

TEST(ExportFormats, OcsfIsApiActivity) {
  json::object o = OcsfApiActivity(Event(5)).value();
  EXPECT_EQ(o.at("class_uid"), 6003);
  EXPECT_EQ(o.at("category_uid"), 6);
  EXPECT_EQ(o.at("activity_id"), 3);
  EXPECT_EQ(o.at("type_uid"), 600303);
  EXPECT_EQ(o.at("severity_id"), 1);
  EXPECT_EQ(o.at("time"), 1767323045678);
  EXPECT_EQ(o.at("status_id"), 1);
  EXPECT_EQ(o.at("api").at("operation"), "model_version.stage_changed");
  EXPECT_EQ(o.at("actor").at("user").at("name"), "alice");
  EXPECT_EQ(o.at("src_endpoint").at("ip"), "10.0.0.1");
  EXPECT_EQ(o.at("metadata").at("sequence"), 5);
  EXPECT_EQ(o.at("resources").at(0).at("name"), "fraud/3");
  EXPECT_TRUE(o.at("metadata").at("product").is_object());
}

TEST(ExportFormats, UnknownFormatNamesTheChoices) {
  EXPECT_EQ(ParseExportFormat("ocsf").value(), ExportFormat::kOcsf);
  Result<ExportFormat> bad = ParseExportFormat("xml");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            "unknown export format \"xml\": give jsonl, csv, cloudtrail or ocsf");
}

}  // namespace
}  // namespace vouch::audit

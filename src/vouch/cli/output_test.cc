#include "vouch/cli/output.h"

#include <gtest/gtest.h>

#include <sstream>

#include "vouch/cli/audit_view.h"

namespace vouch::cli {
namespace {

json::value Parse(std::string_view text) { return *ParseJson(text); }

TEST(CliOutput, ParsesOutputFormatNames) {
  EXPECT_EQ(*ParseOutputFormat("table"), OutputFormat::kTable);
  EXPECT_EQ(*ParseOutputFormat("json"), OutputFormat::kJson);
  EXPECT_EQ(*ParseOutputFormat("csv"), OutputFormat::kCsv);
  EXPECT_EQ(ParseOutputFormat("yaml").status().code(), StatusCode::kInvalidArgument);
}

TEST(CliOutput, CsvLeavesPlainFieldsUnquoted) {
  EXPECT_EQ(CsvField("fraud-detector"), "fraud-detector");
}

TEST(CliOutput, CsvQuotesCommaQuoteAndLineBreaks) {
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvField("cr\r"), "\"cr\r\"");
}

TEST(CliOutput, CsvRowEndsWithCrLf) { EXPECT_EQ(CsvRow({"NAME", "a,b", ""}), "NAME,\"a,b\",\r\n"); }

TEST(CliOutput, TableAlignsColumnsTwoSpacesApart) {
  EXPECT_EQ(RenderColumns({{"NAME", "LATEST", "DESCRIPTION"},
                           {"fraud-detector", "3", "scores card payments"},
                           {"m", "", "x"}}),
            "NAME            LATEST  DESCRIPTION\n"
            "fraud-detector  3       scores card payments\n"
            "m                       x\n");
}

TEST(CliOutput, TableCountsUnicodeAsOneColumnPerCodePoint) {
  EXPECT_EQ(RenderColumns({{"modèle", "1"}, {"abcdefg", "2"}}),
            "modèle   1\n"
            "abcdefg  2\n");
}

TEST(CliOutput, TableTurnsControlCharactersIntoSpaces) {
  EXPECT_EQ(RenderColumns({{"a\nb\x1b[31m", "x"}}), "a b [31m  x\n");
}

TEST(CliOutput, TableDropsTrailingPaddingOfEmptyLastCell) {
  EXPECT_EQ(RenderColumns({{"VERSION", "ALIASES"}, {"1", ""}}), "VERSION  ALIASES\n1\n");
}

TEST(CliOutput, JsonOutputKeepsMemberOrderAndShortestNumbers) {
  std::ostringstream out;
  PrintObject(Parse(R"({"z": 1, "a": {"auc": 0.93, "big": 1e21}, "s": "q\"u", "n": null})"),
              OutputFormat::kJson, out);
  EXPECT_EQ(out.str(),
            "{\"z\":1,\"a\":{\"auc\":0.93,\"big\":1e+21},\"s\":\"q\\\"u\",\"n\":null}\n");
}

TEST(CliOutput, CellTextFlattensSimpleContainers) {
  EXPECT_EQ(CellText(Parse(R"(["champion", "challenger"])")), "champion, challenger");
  EXPECT_EQ(CellText(Parse(R"({"team": "risk", "auc": 0.5})")), "team=risk, auc=0.5");
  EXPECT_EQ(CellText(Parse(R"({"a": {"b": 1}})")), R"({"a":{"b":1}})");
  EXPECT_EQ(CellText(Parse("null")), "");
  EXPECT_EQ(CellText(Parse("true")), "true");
}

TEST(CliOutput, PrintsObjectAsKeyValueLinesWithReadableTimes) {
  std::ostringstream out;
  PrintObject(
      Parse(R"({"name": "m", "tags": {"team": "risk"}, "creation_timestamp": 1795615200123})"),
      OutputFormat::kTable, out);
  EXPECT_EQ(out.str(),
            "name                m\n"
            "tags                team=risk\n"
            "creation_timestamp  2026-11-25T14:00:00.123Z\n");
}

TEST(CliOutput, PrintsObjectAsOneJsonLine) {
  std::ostringstream out;
  PrintObject(Parse("{\n  \"name\": \"m\",\n  \"auc\": 0.93\n}"), OutputFormat::kJson, out);
  EXPECT_EQ(out.str(), "{\"name\":\"m\",\"auc\":0.93}\n");
}

TEST(CliOutput, PrintsObjectAsCsvHeaderAndRow) {
  std::ostringstream out;
  PrintObject(Parse(R"({"name": "a,b", "latest_version": 2})"), OutputFormat::kCsv, out);
  EXPECT_EQ(out.str(), "name,latest_version\r\n\"a,b\",2\r\n");
}

const char* const kEvent = R"({"schema": 1, "seq": 42, "time": "2026-11-25T14:00:00.123Z",
  "actor": {"id": 1, "name": "admin", "auth": "token"}, "action": "model_version.stage_changed",
  "target": {"type": "model_version", "model": "fraud-detector", "version": 1},
  "before": {"stage": "None"}, "after": {"stage": "Staging"}, "outcome": "done"})";

TEST(CliOutput, ListPrinterWritesOneJsonObjectPerLineForJsonl) {
  std::ostringstream out;
  ListPrinter printer(OutputFormat::kJsonl, AuditLogColumns(), out);
  printer.Add(Parse(kEvent));
  printer.Add(Parse(R"({"seq": 43})"));
  printer.Finish();
  EXPECT_EQ(out.str(), SerializeJson(Parse(kEvent)) + "\n{\"seq\":43}\n");
}

TEST(CliOutput, ListPrinterWritesOneJsonArrayForJson) {
  std::ostringstream out;
  ListPrinter printer(OutputFormat::kJson, AuditLogColumns(), out);
  printer.Add(Parse(kEvent));
  printer.Add(Parse(R"({"seq": 43})"));
  printer.Finish();
  EXPECT_EQ(out.str(), "[\n" + SerializeJson(Parse(kEvent)) + ",\n{\"seq\":43}\n]\n");
  Result<json::value> parsed = ParseJson(out.str());
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->as_array().size(), 2u);
}

TEST(CliOutput, AnEmptyListIsAnEmptyJsonArray) {
  std::ostringstream out;
  ListPrinter(OutputFormat::kJson, ModelColumns(), out).Finish();
  EXPECT_EQ(out.str(), "[]\n");
}

TEST(CliOutput, ListAndSingleObjectCsvAgreeOnHeaderAndCells) {
  constexpr const char* kVersion =
      R"({"model":"m","version":3,"source":"s3://b/m","run_id":"r","stage":"Staging",)"
      R"("aliases":["champion"],"creation_timestamp":1795615200000,"created_by":"alice",)"
      R"("description":"a, \"b\"\nc"})";
  std::ostringstream list;
  ListPrinter printer(OutputFormat::kCsv, VersionColumns(), list);
  printer.Add(Parse(kVersion));
  printer.Finish();
  std::ostringstream one;
  const std::vector<Column> columns = VersionColumns();
  PrintObject(Parse(kVersion), OutputFormat::kCsv, one, &columns);
  EXPECT_EQ(list.str(), one.str());
  EXPECT_EQ(one.str(),
            "version,stage,source,run_id,aliases,created_by,creation_timestamp\r\n"
            "3,Staging,s3://b/m,r,champion,alice,2026-11-25T14:00:00.000Z\r\n");
}

TEST(CliOutput, CsvOfAnObjectWithoutColumnsHasEveryKeyAndIsoTimes) {
  std::ostringstream out;
  PrintObject(
      Parse(R"({"name":"m","description":"a, \"b\"\nc","creation_timestamp":1795615200000})"),
      OutputFormat::kCsv, out);
  EXPECT_EQ(out.str(),
            "name,description,creation_timestamp\r\n"
            "m,\"a, \"\"b\"\"\nc\",2026-11-25T14:00:00.000Z\r\n");
}

TEST(CliOutput, CsvHeaderIsTheFieldOrTheLowerCasedTableHeader) {
  EXPECT_EQ(CsvHeader(TimeColumn("last_updated_timestamp", "UPDATED")), "last_updated_timestamp");
  EXPECT_EQ(CsvHeader(TextColumn("run_id")), "run_id");
  EXPECT_EQ(TextColumn("run_id").header, "RUN_ID");
  EXPECT_EQ(CsvHeader(Column{"SEQ", nullptr}), "seq");
}

TEST(CliOutput, AWriteWithoutAnAnswerPrintsASentenceOrItsObject) {
  const Done done{"Added alice to group ml.",
                  json::object{{"group", "ml"}, {"member", "alice"}, {"added", true}}};
  std::ostringstream table, json_out, csv;
  PrintDone(done, OutputFormat::kTable, table);
  PrintDone(done, OutputFormat::kJson, json_out);
  PrintDone(done, OutputFormat::kCsv, csv);
  EXPECT_EQ(table.str(), "Added alice to group ml.\n");
  EXPECT_EQ(json_out.str(), R"({"group":"ml","member":"alice","added":true})"
                            "\n");
  EXPECT_EQ(csv.str(), "group,member,added\r\nml,alice,true\r\n");
}

TEST(CliOutput, ListPrinterWritesCsvHeaderOnceEvenForEmptyList) {
  std::ostringstream empty;
  ListPrinter(OutputFormat::kCsv, ModelColumns(), empty).Finish();
  EXPECT_EQ(empty.str(), "name,latest_version,description,last_updated_timestamp\r\n");

  std::ostringstream out;
  ListPrinter printer(OutputFormat::kCsv, VersionColumns(), out);
  printer.Add(
      Parse(R"({"version": 1, "stage": "None", "source": "s3://b/m", "aliases": ["a", "b"]})"));
  printer.Add(Parse(R"({"version": 2, "stage": "Staging", "source": "s3://b/n", "run_id": "r"})"));
  printer.Finish();
  EXPECT_EQ(out.str(),
            "version,stage,source,run_id,aliases,created_by,creation_timestamp\r\n"
            "1,None,s3://b/m,,\"a, b\",,\r\n"
            "2,Staging,s3://b/n,r,,,\r\n");
}

TEST(CliOutput, ModelTableShowsUpdatedTimeAsRfc3339) {
  std::ostringstream out;
  ListPrinter printer(OutputFormat::kTable, ModelColumns(), out);
  printer.Add(Parse(R"({"name": "m", "description": "d", "latest_version": 3,
                        "last_updated_timestamp": 1795615200000})"));
  printer.Finish();
  EXPECT_EQ(out.str(),
            "NAME  LATEST  DESCRIPTION  UPDATED\n"
            "m     3       d            2026-11-25T14:00:00.000Z\n");
}

}  // namespace
}  // namespace vouch::cli

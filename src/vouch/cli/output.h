// How the CLI prints server objects, the one output convention of every command (docs/cli.md):
// `-o table` (default) aligned columns for people; `-o json` ONE JSON document (an array for a
// list, an object for one thing); `-o jsonl` JSON Lines (one object per line); `-o csv` RFC 4180
// (CRLF line ends, the JSON field names as header, times as ISO 8601 UTC). JSON keeps the API's
// fields as they are (times in epoch milliseconds). A command declares its columns once (a
// std::vector<Column>), and its list and single-object answers print through them, so `list -o
// csv` and `get -o csv` agree. Pure functions over JSON values and an ostream: tests need no
// server.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/util/json.h"
#include "vouch/util/status.h"

namespace vouch::cli {

enum class OutputFormat { kTable, kJson, kJsonl, kCsv };

// "table", "json", "jsonl" or "csv". INVALID_ARGUMENT otherwise.
Result<OutputFormat> ParseOutputFormat(std::string_view text);

// RFC 4180: the field quoted (quotes doubled) when it holds a comma, quote, CR or LF.
std::string CsvField(std::string_view text);
// Fields joined by ',' and ended by CRLF, as RFC 4180 asks.
std::string CsvRow(const std::vector<std::string>& fields);

// Rows as aligned columns two spaces apart; widths count UTF-8 code points, the last column is
// not padded. Control characters become spaces so server text cannot break the layout or drive
// the terminal.
std::string RenderColumns(const std::vector<std::vector<std::string>>& rows);

// A value as cell text: strings bare, null empty, a flat array "a, b", a flat object "k=v, k2=v2",
// anything deeper as compact JSON.
std::string CellText(const json::value& value);

// One column: its table header, how to get a row's cell from an item (the same text in the table
// and in CSV; times as ISO 8601 UTC), and the JSON field it shows, which is its CSV header (when
// empty, the table header in lower case: "SEQ" is "seq").
struct Column {
  std::string header;
  std::function<std::string(const json::object&)> cell;
  std::string field;
};
// The field's value as cell text, under `header` ("NAME" for "name" when empty).
Column TextColumn(std::string field, std::string header = "");
// Milliseconds since the epoch shown as ISO 8601 UTC (RFC 3339, "2026-11-25T14:00:00.000Z").
Column TimeColumn(std::string field, std::string header);
// The CSV header of `column`: its field, or its table header in lower case.
std::string CsvHeader(const Column& column);

std::vector<Column> ModelColumns();  // NAME, LATEST, DESCRIPTION, UPDATED
// VERSION, STAGE, SOURCE, RUN_ID, ALIASES, CREATED_BY, CREATED
std::vector<Column> VersionColumns();
std::vector<Column> UserColumns();   // NAME, KIND, ADMIN, DISABLED, DISPLAY_NAME, EMAIL
std::vector<Column> TokenColumns();  // ID, NAME, OWNER, SCOPE, CREATED, EXPIRES, LAST_USED, REVOKED
std::vector<Column> GroupColumns();  // NAME, DESCRIPTION, CREATED
std::vector<Column> RoleGrantColumns();   // ROLE, KIND, GRANTEE
std::vector<Column> PermissionColumns();  // MODEL, KIND, GRANTEE, PERMISSION

// One object: table = "key  value" lines (millisecond timestamps shown as RFC 3339), json and
// jsonl = the object on one line, csv = a header and one row: `columns` when given (the same as the
// command's list prints), else every key of the object.
void PrintObject(const json::value& value, OutputFormat format, std::ostream& out,
                 const std::vector<Column>* columns = nullptr);

// What a write that the server answers without a body (204) did: a sentence for the table
// ("Added alice to group ml.") and the object for json, jsonl and csv
// ({"group":"ml","member":"alice","added":true}).
struct Done {
  std::string sentence;
  json::object object;
};
void PrintDone(const Done& done, OutputFormat format, std::ostream& out);

// Prints a list that arrives page by page. JSON, JSON Lines and CSV stream each item as it is
// added (so a long audit log starts printing at once; JSON opens its array with the first item
// and closes it on Finish); a table needs every row for its widths and prints on Finish.
class ListPrinter {
 public:
  ListPrinter(OutputFormat format, std::vector<Column> columns, std::ostream& out);
  void Add(const json::value& item);
  // Prints the table, closes the JSON array ("[]" when no item came), or prints the CSV header
  // when no item came; call once after the last Add.
  void Finish();

 private:
  std::vector<std::string> Cells(const json::value& item) const;
  std::vector<std::string> Headers() const;     // the table's
  std::vector<std::string> CsvHeaders() const;  // the JSON field names

  OutputFormat format_;
  std::vector<Column> columns_;
  std::ostream& out_;
  bool wrote_header_ = false;                   // csv: the header; json: the opening bracket
  std::vector<std::vector<std::string>> rows_;  // table only
};

}  // namespace vouch::cli

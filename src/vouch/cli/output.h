// How the CLI prints server objects: aligned tables for people, JSON lines and RFC 4180 CSV for
// programs. Pure functions over JSON values and an ostream, so tests need no server.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "vouch/util/json.h"
#include "vouch/util/status.h"

namespace vouch::cli {

enum class OutputFormat { kTable, kJson, kCsv };

// "table", "json" or "csv". INVALID_ARGUMENT otherwise.
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

// One column of a list: its header and how to get a row's cell from an item.
struct Column {
  std::string header;
  std::function<std::string(const json::object&)> cell;
};
std::vector<Column> ModelColumns();    // NAME, LATEST, DESCRIPTION, UPDATED
std::vector<Column> VersionColumns();  // VERSION, STAGE, SOURCE, RUN_ID, ALIASES
std::vector<Column> AuditColumns();    // SEQ, TIME, ACTOR, ACTION, TARGET, OUTCOME
std::vector<Column> UserColumns();     // NAME, KIND, ADMIN, DISABLED, DISPLAY_NAME, EMAIL
std::vector<Column> TokenColumns();  // ID, NAME, OWNER, SCOPE, CREATED, EXPIRES, LAST_USED, REVOKED
std::vector<Column> GroupColumns();  // NAME, DESCRIPTION, CREATED
std::vector<Column> RoleGrantColumns();   // ROLE, KIND, GRANTEE
std::vector<Column> PermissionColumns();  // MODEL, KIND, GRANTEE, PERMISSION

// One object: table = "key  value" lines (millisecond timestamps shown as RFC 3339), json = the
// object on one line, csv = a header of its keys and one row.
void PrintObject(const json::value& value, OutputFormat format, std::ostream& out);

// Prints a list that arrives page by page. JSON and CSV stream each item as it is added (so a long
// audit log starts printing at once); a table needs every row for its widths and prints on Finish.
class ListPrinter {
 public:
  ListPrinter(OutputFormat format, std::vector<Column> columns, std::ostream& out);
  void Add(const json::value& item);
  // Prints the table, or the CSV header when no item came; call once after the last Add.
  void Finish();

 private:
  std::vector<std::string> Cells(const json::value& item) const;
  std::vector<std::string> Headers() const;

  OutputFormat format_;
  std::vector<Column> columns_;
  std::ostream& out_;
  bool wrote_header_ = false;
  std::vector<std::vector<std::string>> rows_;  // table only
};

}  // namespace vouch::cli

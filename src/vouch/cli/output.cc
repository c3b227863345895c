#include "vouch/cli/output.h"

#include <fmt/format.h>

#include <algorithm>

#include "vouch/util/time.h"

namespace vouch::cli {
namespace {

bool IsScalar(const json::value& v) { return !v.is_array() && !v.is_object(); }

// UTF-8 code points: every byte that is not a continuation byte starts one.
size_t DisplayWidth(std::string_view text) {
  return std::count_if(text.begin(), text.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

std::string Sanitize(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) c = ' ';
  }
  return out;
}

const json::value* Field(const json::object& o, std::string_view key) {
  const auto it = o.find(key);
  return it == o.end() ? nullptr : &it->value();
}

std::string FieldText(const json::object& o, std::string_view key) {
  const json::value* v = Field(o, key);
  return v == nullptr ? "" : CellText(*v);
}

// Milliseconds since the epoch as RFC 3339; anything else as plain cell text.
std::string TimestampText(const json::object& o, std::string_view key) {
  const json::value* v = Field(o, key);
  if (v != nullptr && v->is_int64()) return FormatRfc3339Ms(v->as_int64());
  return FieldText(o, key);
}

// "fraud-detector v3 @champion", from whichever of model (or name, or principal), version and alias
// a target has; otherwise its type ("request").
// "done", or "denied: <reason>", with the count of an aggregated denial.
}  // namespace

Result<OutputFormat> ParseOutputFormat(std::string_view text) {
  if (text == "table") return OutputFormat::kTable;
  if (text == "json") return OutputFormat::kJson;
  if (text == "jsonl") return OutputFormat::kJsonl;
  if (text == "csv") return OutputFormat::kCsv;
  return InvalidArgument(fmt::format("--output must be table, json, jsonl or csv, got '{}'", text));
}

Column TextColumn(std::string field, std::string header) {
  if (header.empty()) {
    header = field;
    std::transform(header.begin(), header.end(), header.begin(),
                   [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; });
  }
  return {std::move(header), [field](const json::object& o) { return FieldText(o, field); }, field};
}

Column TimeColumn(std::string field, std::string header) {
  return {std::move(header), [field](const json::object& o) { return TimestampText(o, field); },
          field};
}

std::string CsvHeader(const Column& column) {
  if (!column.field.empty()) return column.field;
  std::string header = column.header;
  std::transform(header.begin(), header.end(), header.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
  return header;
}

std::string CsvField(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string CsvRow(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    out += CsvField(fields[i]);
  }
  return out + "\r\n";
}

std::string RenderColumns(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      const std::string cell = Sanitize(row[i]);
      line += cell;
      if (i + 1 < row.size()) line.append(widths[i] - DisplayWidth(cell) + 2, ' ');
    }
    // A trailing empty cell would otherwise leave padding at the end of the line.
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  return out;
}

std::string CellText(const json::value& value) {
  switch (value.kind()) {
    case json::kind::null:
      return "";
    case json::kind::string:
      return std::string(value.get_string());
    case json::kind::array: {
      const json::array& items = value.get_array();
      if (!std::all_of(items.begin(), items.end(), IsScalar)) return SerializeJson(value);
      std::string out;
      for (const json::value& item : items) out += (out.empty() ? "" : ", ") + CellText(item);
      return out;
    }
    case json::kind::object: {
      const json::object& o = value.get_object();
      std::string out;
      for (const auto& member : o) {
        if (!IsScalar(member.value())) return SerializeJson(value);
        out += fmt::format("{}{}={}", out.empty() ? "" : ", ", std::string_view(member.key()),
                           CellText(member.value()));
      }
      return out;
    }
    default:
      return SerializeJson(value);
  }
}

std::vector<Column> ModelColumns() {
  return {TextColumn("name"), TextColumn("latest_version", "LATEST"), TextColumn("description"),
          TimeColumn("last_updated_timestamp", "UPDATED")};
}

std::vector<Column> VersionColumns() {
  return {TextColumn("version"),
          TextColumn("stage"),
          TextColumn("source"),
          TextColumn("run_id"),
          TextColumn("aliases"),
          TextColumn("created_by"),
          TimeColumn("creation_timestamp", "CREATED")};
}

std::vector<Column> UserColumns() {
  return {TextColumn("name"),     TextColumn("kind"),         TextColumn("is_admin", "ADMIN"),
          TextColumn("disabled"), TextColumn("display_name"), TextColumn("email")};
}

std::vector<Column> TokenColumns() {
  return {TextColumn("id"),
          TextColumn("name"),
          TextColumn("owner"),
          TextColumn("scope"),
          TimeColumn("creation_timestamp", "CREATED"),
          TimeColumn("expiration_timestamp", "EXPIRES"),
          TimeColumn("last_used_timestamp", "LAST_USED"),
          TimeColumn("revocation_timestamp", "REVOKED")};
}

std::vector<Column> GroupColumns() {
  return {TextColumn("name"), TextColumn("description"),
          TimeColumn("creation_timestamp", "CREATED")};
}

std::vector<Column> RoleGrantColumns() {
  return {TextColumn("role"), TextColumn("grantee_kind", "KIND"), TextColumn("grantee")};
}

std::vector<Column> PermissionColumns() {
  return {TextColumn("model"), TextColumn("grantee_kind", "KIND"), TextColumn("grantee"),
          TextColumn("permission")};
}

void PrintObject(const json::value& value, OutputFormat format, std::ostream& out,
                 const std::vector<Column>* columns) {
  if (format == OutputFormat::kJson || format == OutputFormat::kJsonl || !value.is_object()) {
    out << SerializeJson(value) << "\n";
    return;
  }
  const json::object& o = value.get_object();
  if (format == OutputFormat::kCsv) {
    std::vector<std::string> keys;
    std::vector<std::string> values;
    if (columns != nullptr) {
      for (const Column& column : *columns) {
        keys.push_back(CsvHeader(column));
        values.push_back(column.cell(o));
      }
    } else {
      for (const auto& member : o) {
        const std::string_view key = member.key();
        keys.emplace_back(key);
        values.push_back(key.ends_with("_timestamp") ? TimestampText(o, key)
                                                     : CellText(member.value()));
      }
    }
    out << CsvRow(keys) << CsvRow(values);
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& member : o) {
    const std::string_view key = member.key();
    rows.push_back({std::string(key), key.ends_with("_timestamp") ? TimestampText(o, key)
                                                                  : CellText(member.value())});
  }
  out << RenderColumns(rows);
}

void PrintDone(const Done& done, OutputFormat format, std::ostream& out) {
  if (format == OutputFormat::kTable) {
    out << done.sentence << "\n";
    return;
  }
  PrintObject(done.object, format, out);
}

ListPrinter::ListPrinter(OutputFormat format, std::vector<Column> columns, std::ostream& out)
    : format_(format), columns_(std::move(columns)), out_(out) {}

void ListPrinter::Add(const json::value& item) {
  switch (format_) {
    case OutputFormat::kJson:
      // One document: "[" before the first item, "," between items, "]" on Finish.
      out_ << (wrote_header_ ? ",\n" : "[\n") << SerializeJson(item);
      wrote_header_ = true;
      return;
    case OutputFormat::kJsonl:
      out_ << SerializeJson(item) << "\n";
      return;
    case OutputFormat::kCsv:
      if (!wrote_header_) out_ << CsvRow(CsvHeaders());
      wrote_header_ = true;
      out_ << CsvRow(Cells(item));
      return;
    case OutputFormat::kTable:
      rows_.push_back(Cells(item));
      return;
  }
}

void ListPrinter::Finish() {
  if (format_ == OutputFormat::kJson) out_ << (wrote_header_ ? "\n]\n" : "[]\n");
  if (format_ == OutputFormat::kCsv && !wrote_header_) out_ << CsvRow(CsvHeaders());
  if (format_ != OutputFormat::kTable) return;
  rows_.insert(rows_.begin(), Headers());
  out_ << RenderColumns(rows_);
  rows_.clear();
}

std::vector<std::string> ListPrinter::Cells(const json::value& item) const {
  std::vector<std::string> cells;
  static const json::object kEmpty;
  const json::object& o = item.is_object() ? item.get_object() : kEmpty;
  for (const Column& column : columns_) cells.push_back(column.cell(o));
  return cells;
}

std::vector<std::string> ListPrinter::Headers() const {
  std::vector<std::string> headers;
  for (const Column& column : columns_) headers.push_back(column.header);
  return headers;
}

std::vector<std::string> ListPrinter::CsvHeaders() const {
  std::vector<std::string> headers;
  for (const Column& column : columns_) headers.push_back(CsvHeader(column));
  return headers;
}

}  // namespace vouch::cli

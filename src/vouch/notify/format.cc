#include "vouch/notify/format.h"

#include <fmt/format.h>

namespace vouch::notify {

Status FormatRegistry::Add(std::unique_ptr<Format> format) {
  if (Find(format->name()) != nullptr) {
    return InvalidArgument(fmt::format("format \"{}\" is there already", format->name()));
  }
  formats_.push_back(std::move(format));
  return OkStatus();
}

const Format* FormatRegistry::Find(std::string_view name) const {
  for (const auto& f : formats_) {
    if (f->name() == name) return f.get();
  }
  return nullptr;
}

std::vector<std::string_view> FormatRegistry::Names() const {
  std::vector<std::string_view> names;
  names.reserve(formats_.size());
  for (const auto& f : formats_) names.push_back(f->name());
  return names;
}

}  // namespace vouch::notify

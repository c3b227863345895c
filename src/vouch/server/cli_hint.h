// The command that the start-up hint tells a user to type to reach this binary's client: `vouch`
// when a shell would run this very build by that name, else the binary's absolute path.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace vouch::server {

// "vouch" when the first executable named `vouch` in `path_env` (a PATH value: directories
// separated by ':', an empty entry meaning the current directory) is `self` itself or a
// byte-for-byte copy of it (what `make install` puts in $PREFIX/bin); otherwise ShellWord(`self`).
// Never fails: a file that cannot be read is not this build.
std::string CliCommandFor(const std::filesystem::path& self, std::string_view path_env);

// `s` as one shell word: as it is when it holds only letters, digits and `/._-+`, else
// single-quoted.
std::string ShellWord(std::string_view s);

// CliCommandFor with this process's own executable (/proc/self/exe) and $PATH; "vouch" when
// /proc/self/exe cannot be read.
std::string CliCommandForThisBinary();

}  // namespace vouch::server

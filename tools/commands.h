// The hapm subcommands. Each one registers itself on the CLI11 app and says
// how to run; tools/hapm_main.cc holds the one table of them.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace hapm::cli {

// What a subcommand returns: the process exit code.
using Runner = std::function<int()>;

struct Command {
  const char* name;
  const char* summary;
  // Adds options to `sub`; returns the function that runs the command.
  Runner (*setup)(CLI::App& sub);
};

Runner setup_mkfs(CLI::App& sub);
Runner setup_mount(CLI::App& sub);
Runner setup_fsck(CLI::App& sub);
Runner setup_status(CLI::App& sub);

// Exit codes shared by the commands (fsck has its own, e2fsck-style).
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

}  // namespace hapm::cli

// The hapm command: one table of subcommands (drbdadm's cmds[]), which also
// gives --help its summaries and examples.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "tools/commands.h"

#ifndef HAPM_VERSION
#define HAPM_VERSION "0.1.0"
#endif

namespace {

using hapm::cli::Command;

struct Entry {
  Command command;
  const char* example;
};

const Entry kCommands[] = {
    {{"mkfs", "Create a pool file holding a new, empty filesystem", hapm::cli::setup_mkfs},
     "hapm mkfs /var/lib/hapm/pool --size 4G"},
    {{"mount", "Mount a pool's filesystem with FUSE (in the background unless -f)",
      hapm::cli::setup_mount},
     "hapm mount /var/lib/hapm/pool /mnt/pm"},
    {{"fsck", "Check a pool that is not mounted; repair it with --repair", hapm::cli::setup_fsck},
     "hapm fsck /var/lib/hapm/pool --repair"},
    {{"status", "Show the state of a mounted filesystem or of a pool file",
      hapm::cli::setup_status},
     "hapm status /mnt/pm"},
};

void setup_logging() {
  auto logger = spdlog::stderr_color_mt("hapm");
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
}

}  // namespace

int main(int argc, char** argv) {
  setup_logging();

  CLI::App app{
      "hapm: a POSIX filesystem whose every byte lives in one persistent-memory pool file,\n"
      "served through FUSE."};
  app.set_version_flag("--version", std::string("hapm ") + HAPM_VERSION);
  app.require_subcommand(1);

  struct Parsed {
    CLI::App* sub;
    hapm::cli::Runner run;
  };
  std::vector<Parsed> subs;
  for (const Entry& e : kCommands) {
    CLI::App* sub = app.add_subcommand(e.command.name, e.command.summary);
    subs.push_back(Parsed{sub, e.command.setup(*sub)});
    // The example goes last, after any notes the command's setup added.
    const std::string notes = sub->get_footer();
    sub->footer((notes.empty() ? "" : notes + "\n\n") + "Example:\n  " + e.example);
  }

  // Set after the subcommands, which would otherwise inherit it.
  app.footer(
      "Run 'hapm COMMAND --help' for the options of one command.\n\n"
      "Example:\n"
      "  hapm mkfs /dev/shm/pool --size 1G\n"
      "  hapm mount /dev/shm/pool /mnt/pm\n"
      "  hapm status /mnt/pm");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help, the version, or the error
    return rc == 0 ? hapm::cli::kExitOk : hapm::cli::kExitUsage;
  }
  for (const Parsed& p : subs) {
    if (p.sub->parsed()) return p.run();
  }
  return hapm::cli::kExitUsage;  // unreachable: require_subcommand(1)
}

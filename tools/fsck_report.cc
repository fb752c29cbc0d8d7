// The fsck report for people (text) and for programs (JSON): same content.
#include <sstream>

#include "tools/fsck.h"

namespace hapm {

std::string FsckReport::verdict() const {
  switch (exit_code) {
    case kFsckClean:
      return "clean";
    case kFsckCorrected:
      return "corrected";
    case kFsckUncorrected:
      return "uncorrected";
    default:
      return "error";
  }
}

namespace {

std::string final_line(const FsckReport& r) {
  switch (r.exit_code) {
    case kFsckClean:
      return "clean";
    case kFsckCorrected:
      return "corrected";
    case kFsckUncorrected:
      return r.repair_mode ? "problems left uncorrected — they cannot be repaired safely"
                           : "problems left uncorrected — run hapm fsck --repair";
    default:
      return "error: " + r.error;
  }
}

}  // namespace

nlohmann::json FsckReport::to_json() const {
  nlohmann::json j;
  j["exit_code"] = exit_code;
  j["verdict"] = verdict();
  j["repair"] = repair_mode;
  if (!error.empty()) j["error"] = error;
  if (exit_code == kFsckOperationalError) return j;
  j["pool_uuid"] = pool_uuid;
  j["recovery"] = {
      {"was_clean", recovery.was_clean},
      {"header_from_backup", recovery.header_from_backup},
      {"journal_replayed", recovery.journal_replayed},
      {"journal_seq", recovery.journal_seq},
      {"journal_records", recovery.journal_records},
      {"orphans_reclaimed", recovery.orphans_reclaimed},
      {"blocks_trimmed", recovery.blocks_trimmed},
      {"summary", recovery.summary()},
  };
  nlohmann::json problems = nlohmann::json::array();
  for (const FsckProblem& p : this->problems) {
    nlohmann::json o = {{"kind", p.kind}, {"detail", p.detail}, {"repaired", p.repaired}};
    if (p.ino) o["inode"] = p.ino;
    if (!p.path.empty()) o["path"] = p.path;
    problems.push_back(std::move(o));
  }
  j["problems"] = std::move(problems);
  j["summary"] = {
      {"inodes_used", inodes_used}, {"directories", directories}, {"files", files},
      {"symlinks", symlinks},       {"blocks_used", blocks_used}, {"blocks_total", blocks_total},
      {"journal_seq", journal_seq},
  };
  j["result"] = final_line(*this);
  return j;
}

std::string FsckReport::to_text() const {
  std::ostringstream out;
  if (exit_code == kFsckOperationalError) {
    out << "error: " << error << "\n";
    return out.str();
  }
  out << "pool " << pool_uuid << "\n";
  out << "recovery: " << recovery.summary() << "\n";
  size_t repaired = 0;
  for (const FsckProblem& p : problems) repaired += p.repaired;
  if (!problems.empty()) {
    out << "problems (" << problems.size() << ", " << repaired << " repaired):\n";
    for (const FsckProblem& p : problems)
      out << "  " << (p.repaired ? "[repaired] " : "[not repaired] ") << p.kind << ": " << p.detail
          << "\n";
  }
  out << "summary: " << inodes_used << " inodes in use (" << directories << " directories, "
      << files << " files, " << symlinks << " symlinks), " << blocks_used << " of " << blocks_total
      << " data blocks used, journal at transaction " << journal_seq << "\n";
  out << final_line(*this) << "\n";
  return out.str();
}

}  // namespace hapm

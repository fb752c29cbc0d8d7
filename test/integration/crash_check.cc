// Walking a remounted workload tree and checking it against the model.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <sstream>
#include <vector>

#include "test/integration/crash_model.h"
#include "test/integration/test_util.h"

namespace hapm::test::crash {

namespace {

constexpr int kWalkDepthMax = 16;
constexpr size_t kWalkEntriesMax = 100'000;
constexpr size_t kDifferencesMax = 12;

std::string join(const std::string& parent, const std::string& name) {
  return parent.empty() ? name : parent + "/" + name;
}

void walk(const std::string& root, const std::string& rel, int depth, Observed* out,
          size_t* entries) {
  if (!out->error.empty()) return;
  const std::string abs = rel.empty() ? root : root + "/" + rel;
  DIR* d = ::opendir(abs.c_str());
  if (d == nullptr) {
    out->error = "opendir " + abs + ": " + strerror(errno);
    return;
  }
  std::vector<std::string> subdirs;
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (e == nullptr) {
      if (errno != 0) out->error = "readdir " + abs + ": " + strerror(errno);
      break;
    }
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (++*entries > kWalkEntriesMax) {
      out->error = "more than " + std::to_string(kWalkEntriesMax) + " entries";
      break;
    }
    const std::string path = join(rel, name);
    struct stat st {};
    if (::lstat((root + "/" + path).c_str(), &st) != 0) {
      out->error = "lstat " + path + " (listed by readdir): " + strerror(errno);
      break;
    }
    if (S_ISDIR(st.st_mode)) {
      out->dirs.insert(path);
      out->dir_nlink[path] = st.st_nlink;
      subdirs.push_back(path);
    } else if (S_ISREG(st.st_mode)) {
      out->files[path] = st.st_ino;
      out->nlink[st.st_ino] = st.st_nlink;
      if (out->data.count(st.st_ino) == 0) {
        int err = 0;
        std::string content = slurp(root + "/" + path, &err);
        if (err != 0) {
          out->error = "read " + path + ": " + strerror(err);
          break;
        }
        if (content.size() != static_cast<size_t>(st.st_size)) {
          out->error = "read " + path + " returned " + std::to_string(content.size()) +
                       " bytes but st_size is " + std::to_string(st.st_size);
          break;
        }
        out->data[st.st_ino] = std::move(content);
      }
    } else {
      out->error = "unexpected file type at " + path;
      break;
    }
  }
  ::closedir(d);
  if (depth >= kWalkDepthMax && !subdirs.empty()) {
    out->error = "directories nested deeper than " + std::to_string(kWalkDepthMax);
    return;
  }
  for (const auto& s : subdirs) walk(root, s, depth + 1, out, entries);
}

char byte_at(const std::string& s, size_t i) {
  return i < s.size() ? s[i] : '\0';
}

// "" when every byte of `seen` is the old or the new byte and its size lies
// between the two sizes.
std::string mixed(const std::string& seen, const std::string& old_data,
                  const std::string& new_data) {
  const size_t lo = std::min(old_data.size(), new_data.size());
  const size_t hi = std::max(old_data.size(), new_data.size());
  if (seen.size() < lo || seen.size() > hi) {
    return "size " + std::to_string(seen.size()) + " is neither the old " +
           std::to_string(old_data.size()) + " nor the new " + std::to_string(new_data.size()) +
           " nor in between";
  }
  for (size_t i = 0; i < seen.size(); i++) {
    if (seen[i] != byte_at(old_data, i) && seen[i] != byte_at(new_data, i)) {
      return "byte " + std::to_string(i) + " is neither the old nor the new value";
    }
  }
  return "";
}

std::string first_difference(const std::string& seen, const std::string& want) {
  size_t i = 0;
  while (i < seen.size() && i < want.size() && seen[i] == want[i]) i++;
  return "size " + std::to_string(seen.size()) + " (expected " + std::to_string(want.size()) +
         "), first difference at byte " + std::to_string(i);
}

// Checks `seen` against one candidate tree; `mix_id` may hold old or new bytes.
std::string match(const Observed& seen, const Tree& want, uint64_t mix_id,
                  const std::string& mix_old, Tree* adopted) {
  std::vector<std::string> diffs;
  auto note = [&](const std::string& d) {
    if (diffs.size() < kDifferencesMax) diffs.push_back(d);
  };
  for (const auto& d : want.dirs) {
    if (seen.dirs.count(d) == 0) note("directory " + d + " is missing");
  }
  for (const auto& d : seen.dirs) {
    if (want.dirs.count(d) == 0) note("directory " + d + " should not exist");
  }
  for (const auto& [p, id] : want.files) {
    if (seen.files.count(p) == 0) note("file " + p + " is missing");
  }
  for (const auto& [p, ino] : seen.files) {
    if (want.files.count(p) == 0) note("file " + p + " should not exist");
  }
  auto render = [&] {
    std::string out;
    for (const auto& d : diffs) out += "  " + d + "\n";
    return out;
  };
  if (!diffs.empty()) return render();  // names differ: the rest would be noise
  {
    // Names of one model inode must be names of one real inode, and back.
    std::map<uint64_t, ino_t> ino_of;
    std::map<ino_t, uint64_t> id_of;
    for (const auto& [p, id] : want.files) {
      const ino_t ino = seen.files.at(p);
      if (ino_of.count(id) != 0 && ino_of[id] != ino) note(p + " is no longer a hard link");
      if (id_of.count(ino) != 0 && id_of[ino] != id) note(p + " shares an inode it should not");
      ino_of[id] = ino;
      id_of[ino] = id;
    }
    *adopted = want;
    for (const auto& [id, ino] : ino_of) {
      const std::string& got = seen.data.at(ino);
      const std::string& expect = want.data.at(id);
      std::string where;
      for (const auto& [p, i] : want.files) {
        if (i == id) where += (where.empty() ? "" : ", ") + p;
      }
      if (seen.nlink.at(ino) != want.links(id)) {
        note(where + ": st_nlink " + std::to_string(seen.nlink.at(ino)) + ", names " +
             std::to_string(want.links(id)));
      }
      if (id == mix_id) {
        std::string why = mixed(got, mix_old, expect);
        if (!why.empty()) note(where + " (in flight): " + why);
        adopted->data[id] = got;
      } else if (got != expect) {
        note(where + ": content differs: " + first_difference(got, expect));
      }
    }
    // Directory link counts: 2 + subdirectories.
    for (const auto& [d, n] : seen.dir_nlink) {
      const std::string prefix = d.empty() ? "" : d + "/";
      size_t subdirs = 0;
      for (const auto& s : want.dirs) {
        subdirs += s.size() > prefix.size() && s.compare(0, prefix.size(), prefix) == 0 &&
                   s.find('/', prefix.size()) == std::string::npos;
      }
      if (n != 2 + subdirs) {
        note("directory " + d + ": st_nlink " + std::to_string(n) + ", expected " +
             std::to_string(2 + subdirs));
      }
    }
  }
  return render();
}

}  // namespace

Observed observe(const std::string& root) {
  Observed out;
  size_t entries = 0;
  struct stat st {};
  if (::lstat(root.c_str(), &st) != 0) {
    out.error = "lstat " + root + ": " + strerror(errno);
    return out;
  }
  out.dir_nlink[""] = st.st_nlink;
  walk(root, "", 0, &out, &entries);
  return out;
}

std::string verify(const Observed& seen, const Tree& before, const Step* step, Tree* adopted) {
  if (!seen.error.empty()) return "walking the tree failed: " + seen.error + "\n";
  std::string report;
  if (step != nullptr) {
    const std::string old_data =
        before.data.count(step->data_id) ? before.data.at(step->data_id) : std::string();
    std::string as_after = match(seen, step->after, step->data_id, old_data, adopted);
    if (as_after.empty()) return "";
    report += "as if the in-flight " + step->op.describe() + " happened:\n" + as_after;
  }
  std::string as_before = match(seen, before, 0, "", adopted);
  if (as_before.empty()) return "";
  report += std::string(step != nullptr ? "as if it did not happen" : "against the model") + ":\n" +
            as_before;
  return report;
}

}  // namespace hapm::test::crash

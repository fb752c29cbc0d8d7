// Planning the crash test's operations on the model tree.
#include "test/integration/crash_model.h"

#include <algorithm>
#include <vector>

#include "test/integration/test_util.h"

namespace hapm::test::crash {

namespace {

std::string join(const std::string& parent, const std::string& name) {
  return parent.empty() ? name : parent + "/" + name;
}

size_t depth(const std::string& path) {
  return path.empty() ? 0 : 1 + static_cast<size_t>(std::count(path.begin(), path.end(), '/'));
}

bool inside(const std::string& path, const std::string& dir) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

template <class C>
const typename C::value_type& pick(const C& c, std::mt19937_64& rng) {
  auto it = c.begin();
  std::advance(it, static_cast<long>(rng() % c.size()));
  return *it;
}

// "" (the root) and every directory.
std::vector<std::string> all_dirs(const Tree& t) {
  std::vector<std::string> v{""};
  v.insert(v.end(), t.dirs.begin(), t.dirs.end());
  return v;
}

// Deepest level below `dir` (0 when it has no subdirectories).
size_t height(const Tree& t, const std::string& dir) {
  size_t h = 0;
  for (const auto& d : t.dirs) {
    if (d != dir && inside(d, dir)) h = std::max(h, depth(d) - depth(dir));
  }
  return h;
}

bool is_empty_dir(const Tree& t, const std::string& dir) {
  for (const auto& d : t.dirs) {
    if (d != dir && inside(d, dir)) return false;
  }
  for (const auto& [path, id] : t.files) {
    if (inside(path, dir)) return false;
  }
  return true;
}

std::string random_bytes(std::mt19937_64& rng, const PlanLimits& limits) {
  size_t n;
  const auto roll = rng() % 10;
  if (roll == 0) {
    n = 0;
  } else if (roll <= 7) {
    n = 1 + rng() % limits.small_write_max;
  } else {
    n = 1 + rng() % limits.large_write_max;
  }
  return pattern(n, rng());
}

void drop_name(Tree& t, const std::string& path) {
  const uint64_t id = t.files.at(path);
  t.files.erase(path);
  if (t.links(id) == 0) t.data.erase(id);
}

// Fills in step.op/step.after for one kind; false when it does not apply.
bool try_plan(Kind kind, const Tree& tree, std::mt19937_64& rng, const PlanLimits& limits,
              Step* step) {
  Op& op = step->op;
  Tree& t = step->after;
  t = tree;
  op.kind = kind;
  switch (kind) {
    case Kind::Create: {
      if (tree.files.size() >= limits.files_max) return false;
      op.path = join(pick(all_dirs(tree), rng), "f" + std::to_string(t.next_name++));
      op.bytes = random_bytes(rng, limits);
      const uint64_t id = t.next_id++;
      t.files[op.path] = id;
      t.data[id] = op.bytes;
      step->data_id = id;
      return true;
    }
    case Kind::Append:
    case Kind::Overwrite:
    case Kind::Truncate: {
      if (tree.files.empty()) return false;
      op.path = pick(tree.files, rng).first;
      const uint64_t id = tree.files.at(op.path);
      std::string& data = t.data[id];
      step->data_id = id;
      if (kind == Kind::Append) {
        op.bytes = random_bytes(rng, limits);
        if (data.size() + op.bytes.size() > limits.file_size_max) return false;
        data += op.bytes;
      } else if (kind == Kind::Overwrite) {
        op.offset = rng() % (data.size() + 8192);
        op.bytes = random_bytes(rng, limits);
        if (op.offset + op.bytes.size() > limits.file_size_max) return false;
        // A write of nothing changes nothing (it does not extend the file).
        if (!op.bytes.empty()) {
          if (data.size() < op.offset + op.bytes.size()) data.resize(op.offset + op.bytes.size());
          data.replace(op.offset, op.bytes.size(), op.bytes);
        }
      } else {
        op.offset = rng() % 2 ? rng() % (data.size() + 1) : data.size() + rng() % (256 * 1024);
        data.resize(op.offset, '\0');
      }
      return true;
    }
    case Kind::Rename: {
      if (rng() % 4 == 0 && !tree.dirs.empty()) {  // a directory, to a fresh name
        op.path = pick(tree.dirs, rng);
        const std::string parent = pick(all_dirs(tree), rng);
        if (inside(parent, op.path)) return false;
        if (depth(parent) + 1 + height(tree, op.path) > limits.depth_max) return false;
        op.path2 = join(parent, "d" + std::to_string(t.next_name++));
        std::set<std::string> dirs;
        for (const auto& d : t.dirs)
          dirs.insert(inside(d, op.path) ? op.path2 + d.substr(op.path.size()) : d);
        t.dirs = dirs;
        std::map<std::string, uint64_t> files;
        for (const auto& [p, id] : t.files) {
          files[inside(p, op.path) ? op.path2 + p.substr(op.path.size()) : p] = id;
        }
        t.files = files;
        return true;
      }
      if (tree.files.empty()) return false;
      op.path = pick(tree.files, rng).first;
      const uint64_t id = tree.files.at(op.path);
      if (rng() % 3 == 0) {  // over an existing file (not another name of the same one)
        op.path2 = pick(tree.files, rng).first;
        if (tree.files.at(op.path2) == id) return false;
        drop_name(t, op.path2);
      } else {
        op.path2 = join(pick(all_dirs(tree), rng), "f" + std::to_string(t.next_name++));
      }
      t.files.erase(op.path);
      t.files[op.path2] = id;
      return true;
    }
    case Kind::Link: {
      if (tree.files.empty()) return false;
      op.path = pick(tree.files, rng).first;
      op.path2 = join(pick(all_dirs(tree), rng), "f" + std::to_string(t.next_name++));
      t.files[op.path2] = tree.files.at(op.path);
      return true;
    }
    case Kind::Unlink: {
      if (tree.files.empty()) return false;
      op.path = pick(tree.files, rng).first;
      drop_name(t, op.path);
      return true;
    }
    case Kind::Mkdir: {
      if (tree.dirs.size() >= limits.dirs_max) return false;
      const std::string parent = pick(all_dirs(tree), rng);
      if (depth(parent) >= limits.depth_max) return false;
      op.path = join(parent, "d" + std::to_string(t.next_name++));
      t.dirs.insert(op.path);
      return true;
    }
    case Kind::Rmdir: {
      if (tree.dirs.empty()) return false;
      op.path = pick(tree.dirs, rng);
      if (!is_empty_dir(tree, op.path)) return false;
      t.dirs.erase(op.path);
      return true;
    }
  }
  return false;
}

}  // namespace

size_t Tree::links(uint64_t id) const {
  size_t n = 0;
  for (const auto& [path, i] : files) n += i == id;
  return n;
}

std::string Op::describe() const {
  static const char* const kNames[] = {"create", "append", "overwrite", "truncate", "rename",
                                       "link",   "unlink", "mkdir",     "rmdir"};
  std::string s = kNames[static_cast<int>(kind)] + std::string(" ") + path;
  if (!path2.empty()) s += " -> " + path2;
  if (kind == Kind::Overwrite) s += " at " + std::to_string(offset);
  if (kind == Kind::Truncate) s += " to " + std::to_string(offset);
  if (!bytes.empty() || kind == Kind::Create || kind == Kind::Append || kind == Kind::Overwrite) {
    s += " (" + std::to_string(bytes.size()) + " bytes)";
  }
  return s;
}

Step plan(const Tree& tree, std::mt19937_64& rng, const PlanLimits& limits) {
  struct Weighted {
    Kind kind;
    unsigned weight;
  };
  static constexpr Weighted kMix[] = {
      {Kind::Create, 20},  {Kind::Append, 12}, {Kind::Overwrite, 15},
      {Kind::Truncate, 8}, {Kind::Rename, 15}, {Kind::Link, 7},
      {Kind::Unlink, 12},  {Kind::Mkdir, 6},   {Kind::Rmdir, 5}};
  unsigned total = 0;
  for (const auto& w : kMix) total += w.weight;
  Step step;
  // Bounded: Create or Unlink always applies, so this ends quickly.
  for (int attempt = 0; attempt < 1000; attempt++) {
    unsigned r = static_cast<unsigned>(rng() % total);
    Kind kind = kMix[0].kind;
    for (const auto& w : kMix) {
      if (r < w.weight) {
        kind = w.kind;
        break;
      }
      r -= w.weight;
    }
    step = Step{};
    if (try_plan(kind, tree, rng, limits, &step)) return step;
  }
  step = Step{};
  try_plan(tree.files.empty() ? Kind::Create : Kind::Unlink, tree, rng, limits, &step);
  return step;
}

}  // namespace hapm::test::crash

// name_pool.cpp: the process-wide pool behind frameaudit::Name. Strings live
// in a deque (stable addresses); the index maps views of them to themselves.
// The pool is never destroyed, so a Name held by a static or by a report
// freed during exit stays valid.
#include <deque>
#include <mutex>
#include <ostream>
#include <unordered_map>

#include "frameaudit/name.h"

namespace frameaudit {
namespace {

struct Pool {
  std::mutex mutex;
  std::deque<std::string> strings;
  std::unordered_map<std::string_view, const std::string *> index;
};

Pool &pool() {
  static Pool *p = new Pool; // never freed: see the file comment
  return *p;
}

} // namespace

Name::Name(std::string_view s) : str_(intern(s)) {}

const std::string *Name::intern(std::string_view s) {
  Pool &p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  if (auto it = p.index.find(s); it != p.index.end())
    return it->second;
  const std::string &kept = p.strings.emplace_back(s);
  p.index.emplace(std::string_view(kept), &kept);
  return &kept;
}

std::ostream &operator<<(std::ostream &os, const Name &name) {
  return name ? os << '"' << *name << '"' : os << "nullopt";
}

} // namespace frameaudit

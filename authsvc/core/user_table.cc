#include "authsvc/core/user_table.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace authsvc {
namespace {

using Clock = std::chrono::system_clock;

std::int64_t ticks(Clock::time_point t) { return t.time_since_epoch().count(); }
Clock::time_point time_of(std::int64_t ticks) { return Clock::time_point(Clock::duration(ticks)); }

std::uint64_t name_hash(std::string_view name) {
  // The slot comes from the low bits and the tag kept in the slot from the
  // high ones: std::hash is 64 bits wide here.
  return static_cast<std::uint64_t>(std::hash<std::string_view>{}(name));
}

constexpr std::uint64_t kEntryMask = 0xffffffffu;

}  // namespace

bool UserView::has_vhost(std::string_view vhost) const {
  return std::find(vhosts.begin(), vhosts.end(), vhost) != vhosts.end();
}

bool UserRecord::has_vhost(std::string_view vhost) const { return view().has_vhost(vhost); }

UserView UserRecord::view() const {
  UserView v;
  v.name = name;
  v.credential = view_of(credential);
  if (previous) v.previous = view_of(*previous);
  v.previous_valid_until = previous_valid_until;
  v.expires_at = expires_at;
  v.active = active;
  v.tags = tags;
  v.vhosts = vhosts;
  return v;
}

UserRecord to_record(const UserView& user) {
  UserRecord r;
  r.name = user.name;
  r.credential = Credential{user.credential.scheme,
                            {user.credential.hash.begin(), user.credential.hash.end()}};
  if (user.previous) {
    r.previous =
        Credential{user.previous->scheme, {user.previous->hash.begin(), user.previous->hash.end()}};
  }
  r.previous_valid_until = user.previous_valid_until;
  r.expires_at = user.expires_at;
  r.active = user.active;
  r.tags = user.tags;
  r.vhosts.assign(user.vhosts.begin(), user.vhosts.end());
  return r;
}

UserView UserTable::view_of(const Entry& e) const {
  const std::uint8_t* at = arena_.data() + e.offset;
  UserView v;
  v.name = std::string_view(reinterpret_cast<const char*>(at), e.name_size);
  at += e.name_size;
  v.credential = CredentialView{e.scheme, {at, e.hash_size}};
  at += e.hash_size;
  if (e.flags & kHasPrevious) {
    v.previous = CredentialView{e.previous_scheme, {at, e.previous_hash_size}};
    v.previous_valid_until = time_of(e.previous_valid_until);
  }
  if (e.flags & kHasExpiry) v.expires_at = time_of(e.expires_at);
  v.active = (e.flags & kActive) != 0;
  v.tags = tags_[e.tags];
  v.vhosts = vhost_lists_[e.vhosts];
  return v;
}

std::optional<UserView> UserTable::find(std::string_view name) const {
  if (slots_.empty()) return std::nullopt;
  std::uint64_t h = name_hash(name);
  std::uint64_t tag = h >> 32;
  std::size_t mask = slots_.size() - 1;
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    std::uint64_t slot = slots_[i];
    if (slot == 0) return std::nullopt;
    if ((slot >> 32) != tag) continue;
    const Entry& e = entries_[(slot & kEntryMask) - 1];
    if (e.name_size == name.size() &&
        std::memcmp(arena_.data() + e.offset, name.data(), name.size()) == 0) {
      return view_of(e);
    }
  }
}

std::vector<UserRecord> to_records(const UserTable& table) {
  std::vector<UserRecord> records;
  records.reserve(table.size());
  for (const UserTable::Entry& e : table.entries_) {
    UserView user = table.view_of(e);
    // A duplicate's name finds the first user of that name, not this one.
    if (table.find(user.name)->name.data() == user.name.data()) records.push_back(to_record(user));
  }
  return records;
}

std::size_t UserTable::memory_bytes() const {
  std::size_t bytes = entries_.capacity() * sizeof(Entry) + arena_.capacity() +
                      slots_.capacity() * sizeof(std::uint64_t);
  for (const std::string& t : tags_) bytes += sizeof t + t.capacity();
  for (const auto& list : vhost_lists_) {
    bytes += sizeof list;
    for (const std::string& v : list) bytes += sizeof v + v.capacity();
  }
  return bytes;
}

UserTableBuilder::UserTableBuilder() = default;
UserTableBuilder::~UserTableBuilder() = default;

void UserTableBuilder::reserve(std::size_t users, std::size_t arena_bytes) {
  table_.entries_.reserve(users);
  table_.arena_.reserve(arena_bytes);
}

std::size_t UserTableBuilder::added() const { return table_.entries_.size(); }

std::uint32_t UserTableBuilder::tags_index(std::string_view tags) {
  if (last_tags_ != UINT32_MAX && table_.tags_[last_tags_] == tags) return last_tags_;
  auto [it, fresh] =
      tags_seen_.try_emplace(std::string(tags), static_cast<std::uint32_t>(table_.tags_.size()));
  if (fresh) table_.tags_.emplace_back(tags);
  return last_tags_ = it->second;
}

std::uint32_t UserTableBuilder::vhosts_index(std::span<const std::string> vhosts) {
  if (last_vhosts_ != UINT32_MAX && std::ranges::equal(table_.vhost_lists_[last_vhosts_], vhosts)) {
    return last_vhosts_;
  }
  key_.clear();
  for (const std::string& v : vhosts) {
    key_ += std::to_string(v.size());
    key_ += ':';
    key_ += v;
  }
  auto [it, fresh] =
      vhosts_seen_.try_emplace(key_, static_cast<std::uint32_t>(table_.vhost_lists_.size()));
  if (fresh) table_.vhost_lists_.emplace_back(vhosts.begin(), vhosts.end());
  return last_vhosts_ = it->second;
}

void UserTableBuilder::add(const UserView& user) {
  std::size_t previous_size = user.previous ? user.previous->hash.size() : 0;
  if (user.credential.hash.size() > UINT8_MAX || previous_size > UINT8_MAX ||
      user.name.size() > UINT32_MAX || table_.entries_.size() >= kEntryMask) {
    throw std::length_error("UserTableBuilder: a user or the table is too large");
  }
  UserTable::Entry e{};
  e.offset = table_.arena_.size();
  e.name_size = static_cast<std::uint32_t>(user.name.size());
  e.scheme = user.credential.scheme;
  e.hash_size = static_cast<std::uint8_t>(user.credential.hash.size());
  auto& arena = table_.arena_;
  arena.insert(arena.end(), user.name.begin(), user.name.end());
  arena.insert(arena.end(), user.credential.hash.begin(), user.credential.hash.end());
  if (user.previous) {
    e.flags |= UserTable::kHasPrevious;
    e.previous_scheme = user.previous->scheme;
    e.previous_hash_size = static_cast<std::uint8_t>(previous_size);
    e.previous_valid_until = ticks(user.previous_valid_until);
    arena.insert(arena.end(), user.previous->hash.begin(), user.previous->hash.end());
  }
  if (user.expires_at) {
    e.flags |= UserTable::kHasExpiry;
    e.expires_at = ticks(*user.expires_at);
  }
  if (user.active) e.flags |= UserTable::kActive;
  e.tags = tags_index(user.tags);
  e.vhosts = vhosts_index(user.vhosts);
  table_.entries_.push_back(e);
}

UserTable UserTableBuilder::build() {
  UserTable& t = table_;
  // A load factor of at most 0.7: short probes, and no more than 16 bytes
  // of index a user even just past a power of two.
  std::size_t wanted = t.entries_.size() + t.entries_.size() * 3 / 7 + 1;
  std::size_t capacity = std::bit_ceil(std::max<std::size_t>(wanted, 8));
  t.slots_.assign(capacity, 0);
  std::size_t mask = capacity - 1;
  std::size_t found = 0;
  for (std::size_t n = 0; n < t.entries_.size(); ++n) {
    const UserTable::Entry& e = t.entries_[n];
    std::string_view name(reinterpret_cast<const char*>(t.arena_.data() + e.offset), e.name_size);
    std::uint64_t h = name_hash(name);
    std::uint64_t tag = h >> 32;
    std::size_t i = h & mask;
    bool duplicate = false;
    for (; t.slots_[i] != 0; i = (i + 1) & mask) {
      std::uint64_t slot = t.slots_[i];
      if ((slot >> 32) != tag) continue;
      const UserTable::Entry& other = t.entries_[(slot & kEntryMask) - 1];
      if (other.name_size == e.name_size &&
          std::memcmp(t.arena_.data() + other.offset, name.data(), name.size()) == 0) {
        duplicate = true;
        break;
      }
    }
    if (duplicate) {
      ++duplicates_;
      continue;
    }
    t.slots_[i] = tag << 32 | (n + 1);
    ++found;
  }
  t.size_ = found;
  tags_seen_.clear();
  vhosts_seen_.clear();
  last_tags_ = last_vhosts_ = UINT32_MAX;
  // No shrink_to_fit() of arrays grown by doubling: their spare tail was
  // never written, so it is address space, not memory, and a copy to the
  // exact size would briefly hold both.
  return std::exchange(table_, UserTable());
}

}  // namespace authsvc

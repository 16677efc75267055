#pragma once
// The users a snapshot decides with: an owning record for the few users a
// change touches, a view that a lookup returns, and the big immutable table
// that a full load builds, one user at a time.
//
// The table keeps every user in one fixed-size entry (48 bytes) of a single
// array, its name and hashes in one byte arena, and its tags and vhost list
// as indices into tables of distinct values: almost every user has the
// same tags and vhosts, so they are stored once. An open-addressing index
// of 64-bit slots (entry number and 32 bits of the name's hash, so that a
// probe rarely compares names) finds an entry. About 100 bytes a user in
// all, against 360 for a hash map of records, and a handful of large
// allocations instead of five small ones a user.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "authsvc/core/credential.h"

namespace authsvc {

// One user as a decision sees it. Its names, hashes, tags and vhosts belong
// to the snapshot that returned it: valid as long as that snapshot.
struct UserView {
  std::string_view name;
  CredentialView credential;  // the current one
  std::optional<CredentialView> previous;
  std::chrono::system_clock::time_point previous_valid_until{};
  std::optional<std::chrono::system_clock::time_point> expires_at;
  bool active = false;
  std::string_view tags;
  std::span<const std::string> vhosts;

  bool has_vhost(std::string_view vhost) const;
};

struct UserRecord {
  std::string name;
  Credential credential;  // the current one
  // During a rotation's grace: the credential before, valid until then.
  std::optional<Credential> previous;
  std::chrono::system_clock::time_point previous_valid_until{};
  // After this, the account neither logs in nor is allowed anything.
  std::optional<std::chrono::system_clock::time_point> expires_at;
  bool active = false;
  std::string tags;                 // space-joined, as the broker wants them
  std::vector<std::string> vhosts;  // granted vhosts

  bool has_vhost(std::string_view vhost) const;
  UserView view() const;
};

UserRecord to_record(const UserView& user);

class UserTable {
 public:
  UserTable() = default;  // empty

  std::optional<UserView> find(std::string_view name) const;
  // Users that find() finds: a name added twice counts once.
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Bytes held, for the load's log line and the tests.
  std::size_t memory_bytes() const;
  std::size_t distinct_tags() const { return tags_.size(); }
  std::size_t distinct_vhost_lists() const { return vhost_lists_.size(); }

 private:
  friend class UserTableBuilder;
  // 48 bytes. Times are the clock's own ticks, so that a record's times
  // come back exactly.
  struct Entry {
    std::uint64_t offset;  // of the name in arena_; the hashes follow it
    std::int64_t previous_valid_until;
    std::int64_t expires_at;
    std::uint32_t name_size;
    std::uint32_t tags;    // index into tags_
    std::uint32_t vhosts;  // index into vhost_lists_
    CredentialScheme scheme;
    std::uint8_t hash_size;
    CredentialScheme previous_scheme;
    std::uint8_t previous_hash_size;
    std::uint8_t flags;
  };
  // The per-user figure README's snapshot load section gives.
  static_assert(sizeof(Entry) == 48);
  static constexpr std::uint8_t kActive = 1, kHasPrevious = 2, kHasExpiry = 4;

  friend std::vector<UserRecord> to_records(const UserTable& table);
  UserView view_of(const Entry& entry) const;

  std::vector<Entry> entries_;
  std::vector<std::uint8_t> arena_;   // each entry's name, current hash, previous hash
  std::vector<std::uint64_t> slots_;  // 0: free; else hash << 32 | (entry + 1)
  std::vector<std::string> tags_;
  std::vector<std::vector<std::string>> vhost_lists_;
  std::size_t size_ = 0;
};

// Every user find() finds, in the order added: for tools and tests that
// walk them all.
std::vector<UserRecord> to_records(const UserTable& table);

// Users are added one at a time (a store streams its rows here), then
// build() makes the table. A name added again is ignored: the first one
// wins, as it did when the users were a hash map's emplace(). The store's
// names are unique, so this only decides what a caller that passes
// duplicates gets, and duplicate_count() says how many there were.
class UserTableBuilder {
 public:
  UserTableBuilder();
  ~UserTableBuilder();
  UserTableBuilder(const UserTableBuilder&) = delete;
  UserTableBuilder& operator=(const UserTableBuilder&) = delete;

  // How many users to expect: spares the arrays' regrowth (and the copies
  // that raise the peak) when known.
  void reserve(std::size_t users, std::size_t arena_bytes);
  void add(const UserView& user);
  std::size_t added() const;
  // Builds the index; the builder is empty afterwards.
  UserTable build();
  std::size_t duplicate_count() const { return duplicates_; }

 private:
  std::uint32_t tags_index(std::string_view tags);
  std::uint32_t vhosts_index(std::span<const std::string> vhosts);

  UserTable table_;
  std::unordered_map<std::string, std::uint32_t> tags_seen_;
  // Keyed by the list's strings, each after its length: an unambiguous join.
  std::unordered_map<std::string, std::uint32_t> vhosts_seen_;
  std::string key_;  // reused for each user's vhosts key
  // Consecutive users nearly always share these: checked before the maps.
  std::uint32_t last_tags_ = UINT32_MAX;
  std::uint32_t last_vhosts_ = UINT32_MAX;
  std::size_t duplicates_ = 0;
};

}  // namespace authsvc

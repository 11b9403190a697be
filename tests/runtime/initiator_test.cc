// Initiator links: signing, verification (tampering, foreign keys, malformed
// input, expiry) and the SQLite ledger of used nonces (single use across
// connections, threads and processes; file modes; purging).
#include "runtime/oauth/initiator.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "runtime/vault/sqlite_db.h"

namespace flowline {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr const char* kKeyA = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
constexpr const char* kKeyB = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

// 2033-05-18T03:33:20Z
const SystemTime kNow = SystemTime(seconds(2'000'000'000));

VaultKey vault_key(const char* hex) { return std::move(VaultKey::from_hex(hex, "test")).value(); }

SecretBytes key_a() { return initiator_signing_key(vault_key(kKeyA)); }
SecretBytes key_b() { return initiator_signing_key(vault_key(kKeyB)); }

std::string base64url(std::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.size() - 1);
  return out;
}

std::string unbase64url(std::string_view text) {
  std::string out(text.size(), '\0');
  size_t length = 0;
  EXPECT_EQ(sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                              text.size(), nullptr, &length, nullptr,
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING),
            0);
  out.resize(length);
  return out;
}

// "PAYLOAD.MAC" for an arbitrary payload text, MAC'ed as the signer does:
// what a bug in the signer (or a stolen key) could produce.
std::string sign_raw(std::string_view payload_plain, const SecretBytes& key) {
  std::string payload = base64url(payload_plain);
  unsigned char mac[crypto_auth_BYTES];
  crypto_auth(mac, reinterpret_cast<const unsigned char*>(payload.data()), payload.size(),
              key.data());
  return payload + "." + base64url({reinterpret_cast<const char*>(mac), sizeof mac});
}

InitiatorLink sample_link() {
  return make_initiator_link("crm.salesforce", "ana", kNow, kDefaultInitiatorLinkLifetime);
}

// The error's code, and a check that its message gives nothing away.
std::string failure(const Result<InitiatorLink>& result, const std::string& link,
                    const SecretBytes& key) {
  if (result.ok()) return "ok";
  const std::string message = result.status().message();
  size_t dot = link.find('.');
  if (dot != std::string::npos && dot + 1 < link.size()) {
    EXPECT_EQ(message.find(link.substr(dot + 1)), std::string::npos) << "the MAC in: " << message;
  }
  if (!link.empty()) {
    EXPECT_EQ(message.find(link), std::string::npos) << message;
  }
  EXPECT_EQ(message.find(base64url(key.view())), std::string::npos) << message;
  return result.status().code();
}

std::string verify_code(const std::string& link, SystemTime now = kNow) {
  SecretBytes key = key_a();
  return failure(verify_initiator_link(link, key, now), link, key);
}

// ------------------------------------------------------------------ keys

TEST(InitiatorSigningKey, IsDerivedFromTheVaultKeyAndDiffersFromIt) {
  SecretBytes a1 = key_a(), a2 = key_a(), b = key_b();
  ASSERT_EQ(a1.size(), 32u);
  EXPECT_EQ(a1.view(), a2.view());
  EXPECT_NE(a1.view(), b.view());
  VaultKey raw = vault_key(kKeyA);
  EXPECT_NE(a1.view(), std::string_view(reinterpret_cast<const char*>(raw.data()), 32));
  // The libsodium derivation the header documents, done by hand.
  unsigned char expected[32];
  crypto_kdf_derive_from_key(expected, sizeof expected, 1, "flinitia", raw.data());
  EXPECT_EQ(a1.view(), std::string_view(reinterpret_cast<const char*>(expected), 32));
}

// ------------------------------------------------------------ making links

TEST(MakeInitiatorLink, ExpiresInWholeSecondsWithAFreshNonce) {
  SystemTime now = kNow + std::chrono::milliseconds(1750);
  InitiatorLink link = make_initiator_link("crm", "ana", now, minutes(15));
  EXPECT_EQ(link.credential, "crm");
  EXPECT_EQ(link.user, "ana");
  EXPECT_EQ(link.expires_at, kNow + seconds(1) + minutes(15));
  EXPECT_EQ(link.nonce.size(), 22u);  // 16 bytes, base64url, no padding
  EXPECT_EQ(unbase64url(link.nonce).size(), 16u);

  std::set<std::string> nonces;
  for (int i = 0; i < 1000; ++i) nonces.insert(sample_link().nonce);
  EXPECT_EQ(nonces.size(), 1000u);
}

TEST(MakeInitiatorLink, ClampsTheLifetime) {
  EXPECT_EQ(make_initiator_link("c", "u", kNow, hours(24 * 365 * 1000)).expires_at,
            kNow + kMaxInitiatorLinkLifetime);
  EXPECT_EQ(make_initiator_link("c", "u", kNow, seconds(-5)).expires_at, kNow);
}

// ---------------------------------------------------------- round trips

TEST(InitiatorLinkSigning, RoundTrips) {
  SecretBytes key = key_a();
  InitiatorLink link = sample_link();
  std::string signed_link = sign_initiator_link(link, key);
  EXPECT_EQ(std::count(signed_link.begin(), signed_link.end(), '.'), 1);
  EXPECT_EQ(signed_link.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
            std::string::npos)
      << "not URL-safe as is: " << signed_link;
  EXPECT_EQ(signed_link.substr(signed_link.find('.') + 1).size(), 43u);  // 32-byte MAC

  Result<InitiatorLink> verified = verify_initiator_link(signed_link, key, kNow);
  ASSERT_TRUE(verified.ok()) << verified.status().message();
  EXPECT_EQ(verified->credential, link.credential);
  EXPECT_EQ(verified->user, link.user);
  EXPECT_EQ(verified->expires_at, link.expires_at);
  EXPECT_EQ(verified->nonce, link.nonce);
}

TEST(InitiatorLinkSigning, PayloadIsTheDocumentedFormat) {
  InitiatorLink link{"crm", "ana", kNow + minutes(15), "bm9uY2U"};
  std::string signed_link = sign_initiator_link(link, key_a());
  EXPECT_EQ(unbase64url(signed_link.substr(0, signed_link.find('.'))),
            "v1\ncrm\nana\n2000000900\nbm9uY2U");
  EXPECT_EQ(signed_link, sign_raw("v1\ncrm\nana\n2000000900\nbm9uY2U", key_a()));
}

TEST(InitiatorLinkSigning, EveryFieldSurvives) {
  SecretBytes key = key_a();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"crm.salesforce", "Ana María Ñúñez"},
      {"api.v2.oauth", "user.with.dots@example.com"},
      {"日本.クレデンシャル", "ユーザー 名前"},
      {"c", "x"},
      {"tabs\tand spaces", "emoji 🙂 user"},
      {std::string(1400, 'c'), std::string(1400, 'u')},  // near the 4 KiB limit
  };
  for (const auto& [credential, user] : cases) {
    InitiatorLink link = make_initiator_link(credential, user, kNow, hours(1));
    std::string signed_link = sign_initiator_link(link, key);
    Result<InitiatorLink> verified = verify_initiator_link(signed_link, key, kNow);
    ASSERT_TRUE(verified.ok()) << credential << " / " << user << ": "
                               << verified.status().message();
    EXPECT_EQ(verified->credential, credential);
    EXPECT_EQ(verified->user, user);
    EXPECT_EQ(verified->expires_at, link.expires_at);
    EXPECT_EQ(verified->nonce, link.nonce);
  }
}

// A name holding the field separator cannot shift the fields: the link has
// one field too many and is refused, never read as another user.
TEST(InitiatorLinkSigning, ANewlineInANameMakesAMalformedLinkNotAnotherUser) {
  SecretBytes key = key_a();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"crm", "eve\nmallory"}, {"crm\nana", "eve"}, {"crm", "eve\n2000009999\nnonce"},
      {"crm", "eve\n"},        {"crm", "\n"},
  };
  for (const auto& [credential, user] : cases) {
    std::string signed_link =
        sign_initiator_link(make_initiator_link(credential, user, kNow, hours(1)), key);
    EXPECT_EQ(verify_code(signed_link), "link_malformed") << user;
  }
}

TEST(InitiatorLinkSigning, NulBytesAndEmptyNamesAreRefused) {
  SecretBytes key = key_a();
  using namespace std::string_literals;
  for (const InitiatorLink& link : {
           InitiatorLink{"crm", "ana\0eve"s, kNow + hours(1), "bm9uY2U"},
           InitiatorLink{"c\0rm"s, "ana", kNow + hours(1), "bm9uY2U"},
           InitiatorLink{"crm", "", kNow + hours(1), "bm9uY2U"},
           InitiatorLink{"", "ana", kNow + hours(1), "bm9uY2U"},
           InitiatorLink{"crm", "ana", kNow + hours(1), ""},
       }) {
    EXPECT_EQ(verify_code(sign_initiator_link(link, key)), "link_malformed")
        << link.credential << " / " << link.user;
  }
}

// ---------------------------------------------------------------- tampering

TEST(InitiatorLinkVerification, ChangingAnyCharacterOfThePayloadIsForgery) {
  std::string signed_link = sign_initiator_link(sample_link(), key_a());
  size_t dot = signed_link.find('.');
  for (size_t i = 0; i < dot; ++i) {
    std::string altered = signed_link;
    altered[i] = altered[i] == 'A' ? 'B' : 'A';
    EXPECT_EQ(verify_code(altered), "link_forged") << "position " << i;
  }
}

TEST(InitiatorLinkVerification, ChangingAnyCharacterOfTheMacIsRefused) {
  std::string signed_link = sign_initiator_link(sample_link(), key_a());
  for (size_t i = signed_link.find('.') + 1; i < signed_link.size(); ++i) {
    std::string altered = signed_link;
    altered[i] = altered[i] == 'A' ? 'B' : 'A';
    // The last character carries two padding bits; setting them makes the
    // MAC non-canonical base64url, which is malformed rather than forged.
    std::string code = verify_code(altered);
    EXPECT_TRUE(code == "link_forged" || code == "link_malformed") << i << ": " << code;
  }
}

TEST(InitiatorLinkVerification, SwappingTheUserWithoutResigningIsForgery) {
  InitiatorLink link = sample_link();
  std::string signed_link = sign_initiator_link(link, key_a());
  std::string mac = signed_link.substr(signed_link.find('.') + 1);
  std::string plain = unbase64url(signed_link.substr(0, signed_link.find('.')));
  std::string swapped = plain;
  swapped.replace(swapped.find("\nana\n"), 5, "\neve\n");
  ASSERT_NE(swapped, plain);
  EXPECT_EQ(verify_code(base64url(swapped) + "." + mac), "link_forged");

  // Nor can the expiry be pushed out.
  std::string later = plain;
  later.replace(later.find("\n2000000900\n"), 12, "\n2999999999\n");
  EXPECT_EQ(verify_code(base64url(later) + "." + mac), "link_forged");
}

TEST(InitiatorLinkVerification, ALinkSignedWithAnotherVaultKeyIsForgery) {
  std::string signed_link = sign_initiator_link(sample_link(), key_b());
  EXPECT_EQ(verify_code(signed_link), "link_forged");
}

// ------------------------------------------------------------- malformed

TEST(InitiatorLinkVerification, MalformedLinks) {
  std::string good = sign_initiator_link(sample_link(), key_a());
  size_t dot = good.find('.');
  std::string payload = good.substr(0, dot), mac = good.substr(dot + 1);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty", ""},
      {"garbage", "hello world"},
      {"garbage with a dot", "%%%.%%%"},
      {"no dot", payload + mac},
      {"payload only", payload},
      {"payload and dot", payload + "."},
      {"mac only", "." + mac},
      {"two dots", payload + "." + mac + "." + mac},
      {"dot inside", payload + ".." + mac},
      {"truncated by one", good.substr(0, good.size() - 1)},
      {"truncated by half the MAC", good.substr(0, good.size() - 20)},
      {"padded MAC", good + "="},
      {"MAC in standard base64", payload + "." + mac.substr(0, 42) + "+"},
      {"trailing newline", good + "\n"},
      {"trailing space", good + " "},
      {"leading space", " " + good},
      {"URL-encoded dot", payload + "%2E" + mac},
      {"oversize", good + std::string(4097, 'A')},
      {"oversize, no dot", std::string(5000, 'A')},
  };
  for (const auto& [name, link] : cases) {
    EXPECT_EQ(verify_code(link), "link_malformed") << name;
  }
  EXPECT_EQ(verify_code(good), "ok");
}

TEST(InitiatorLinkVerification, OversizeIsCheckedBeforeTheMac) {
  // Correctly signed, but over the limit: refused as oversize.
  std::string big = sign_initiator_link(
      make_initiator_link("crm", std::string(3100, 'u'), kNow, hours(1)), key_a());
  ASSERT_GT(big.size(), 4096u);
  Result<InitiatorLink> result = verify_initiator_link(big, key_a(), kNow);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), "link_malformed");
  EXPECT_NE(result.status().message().find("4096"), std::string::npos) << result.status().message();
}

// Payloads the signer never writes, correctly MAC'ed: the field checks still
// hold after the MAC (a future format, a signer bug).
TEST(InitiatorLinkVerification, SignedButMalformedPayloads) {
  SecretBytes key = key_a();
  const std::vector<std::string> payloads = {
      "v2\ncrm\nana\n2000000900\nbm9uY2U",            // unknown version
      "V1\ncrm\nana\n2000000900\nbm9uY2U",            // case matters
      "crm\nana\n2000000900\nbm9uY2U",                // no version
      "v1\ncrm\nana\n2000000900",                     // four fields
      "v1\ncrm\nana\n2000000900\nbm9uY2U\nextra",     // six fields
      "v1\ncrm\nana\n2000000900\nbm9uY2U\n",          // trailing separator
      "v1\ncrm\nana\n\nbm9uY2U",                      // no expiry
      "v1\ncrm\nana\n2000000900s\nbm9uY2U",           // not a number
      "v1\ncrm\nana\n+2000000900\nbm9uY2U",           // a sign is not decimal digits
      "v1\ncrm\nana\n 2000000900\nbm9uY2U",           // whitespace
      "v1\ncrm\nana\n0x77359400\nbm9uY2U",            // hex
      "v1\ncrm\nana\n99999999999999999999\nbm9uY2U",  // out of range
      "",
      "v1",
  };
  for (const std::string& payload : payloads) {
    EXPECT_EQ(verify_code(sign_raw(payload, key)), "link_malformed") << payload;
  }
  EXPECT_EQ(verify_code(sign_raw("v1\ncrm\nana\n2000000900\nbm9uY2U", key)), "ok");
}

// ------------------------------------------------------------------ expiry

TEST(InitiatorLinkVerification, ExpiresExactlyAtItsExpiry) {
  InitiatorLink link = make_initiator_link("crm", "ana", kNow, minutes(15));
  std::string signed_link = sign_initiator_link(link, key_a());
  EXPECT_EQ(verify_code(signed_link, link.expires_at - seconds(1)), "ok");
  EXPECT_EQ(verify_code(signed_link, link.expires_at - std::chrono::nanoseconds(1)), "ok");
  EXPECT_EQ(verify_code(signed_link, link.expires_at), "link_expired");
  EXPECT_EQ(verify_code(signed_link, link.expires_at + hours(48)), "link_expired");

  Result<InitiatorLink> result = verify_initiator_link(signed_link, key_a(), link.expires_at);
  const std::string message = result.status().message();
  EXPECT_NE(message.find("2033-05-18T03:48:20Z"), std::string::npos) << message;
  EXPECT_NE(message.find("`flowline token url`"), std::string::npos) << message;
}

TEST(InitiatorLinkVerification, AForgedExpiredLinkIsForgedNotExpired) {
  // The MAC is checked first: an expired link from another key says nothing
  // about its (untrusted) expiry.
  InitiatorLink link = make_initiator_link("crm", "ana", kNow, minutes(15));
  std::string signed_link = sign_initiator_link(link, key_b());
  EXPECT_EQ(verify_code(signed_link, kNow + hours(1)), "link_forged");
}

// ------------------------------------------------------------------ ledger

mode_t mode_of(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

std::string raw_query(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::string result;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

pid_t spawn(const std::function<int()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class LinkLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/flowline-initiator-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/state/links.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<LinkLedger> open() {
    Result<std::unique_ptr<LinkLedger>> ledger = LinkLedger::open(path_);
    EXPECT_TRUE(ledger.ok()) << ledger.status().code() << ": " << ledger.status().message();
    return ledger.ok() ? std::move(ledger).value() : nullptr;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(LinkLedgerTest, ALinkIsUsedOnce) {
  auto ledger = open();
  ASSERT_TRUE(ledger);
  InitiatorLink link = sample_link();
  Result<bool> first = ledger->consume(link, kNow);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(*first);
  EXPECT_FALSE(*ledger->consume(link, kNow));
  EXPECT_FALSE(*ledger->consume(link, kNow + minutes(5)));

  // Another link, even for the same credential and user, is its own.
  EXPECT_TRUE(*ledger->consume(sample_link(), kNow));
}

TEST_F(LinkLedgerTest, AnotherConnectionAndAReopenSeeTheLinkUsed) {
  InitiatorLink link = sample_link();
  auto first = open();
  auto second = open();  // as another process would
  ASSERT_TRUE(first && second);
  EXPECT_TRUE(*first->consume(link, kNow));
  EXPECT_FALSE(*second->consume(link, kNow));
  first.reset();
  second.reset();
  auto reopened = open();
  ASSERT_TRUE(reopened);
  EXPECT_FALSE(*reopened->consume(link, kNow));
  EXPECT_EQ(raw_query(path_,
                      "SELECT credential || '/' || user || '/' || expires_at || '/' || "
                      "used_at FROM initiator_used_links"),
            "crm.salesforce/ana/2000000900/2000000000");
}

TEST_F(LinkLedgerTest, FilesArePrivateAndTheSchemaIsVersioned) {
  auto ledger = open();
  ASSERT_TRUE(ledger);
  ASSERT_TRUE(*ledger->consume(sample_link(), kNow));
  EXPECT_EQ(mode_of(dir_ + "/state"), 0700u);
  EXPECT_EQ(mode_of(path_), 0600u);
  EXPECT_EQ(mode_of(path_ + "-wal"), 0600u);
  EXPECT_EQ(raw_query(path_, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw_query(path_, "SELECT version FROM schema_versions WHERE component = 'initiator'"),
            "1");
}

TEST_F(LinkLedgerTest, ALooseExistingFileIsTightened) {
  std::filesystem::create_directories(dir_ + "/state");
  { std::ofstream touch(path_); }
  ::chmod(path_.c_str(), 0644);
  ASSERT_TRUE(open());
  EXPECT_EQ(mode_of(path_), 0600u);
}

TEST_F(LinkLedgerTest, EightThreadsOnOneLedgerUseALinkOnce) {
  auto ledger = open();
  ASSERT_TRUE(ledger);
  for (int round = 0; round < 5; ++round) {
    InitiatorLink link = sample_link();
    std::atomic<int> used{0}, refused{0}, failed{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&] {
        while (!go) std::this_thread::yield();
        Result<bool> got = ledger->consume(link, kNow);
        (!got.ok() ? failed : *got ? used : refused)++;
      });
    }
    go = true;
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(used.load(), 1);
    EXPECT_EQ(refused.load(), 7);
  }
}

TEST_F(LinkLedgerTest, EightConnectionsInThreadsUseALinkOnce) {
  std::vector<std::unique_ptr<LinkLedger>> ledgers;
  for (int t = 0; t < 8; ++t) {
    ledgers.push_back(open());
    ASSERT_TRUE(ledgers.back());
  }
  for (int round = 0; round < 5; ++round) {
    InitiatorLink link = sample_link();
    std::atomic<int> used{0}, refused{0}, failed{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        while (!go) std::this_thread::yield();
        Result<bool> got = ledgers[t]->consume(link, kNow);
        (!got.ok() ? failed : *got ? used : refused)++;
      });
    }
    go = true;
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(used.load(), 1);
    EXPECT_EQ(refused.load(), 7);
  }
}

TEST_F(LinkLedgerTest, ProcessesUseALinkOnce) {
  constexpr int kProcesses = 4;
  { ASSERT_TRUE(open()); }  // created before the children race; none open across fork()
  InitiatorLink link = sample_link();
  int gate[2];
  ASSERT_EQ(::pipe(gate), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < kProcesses; ++i) {
    children.push_back(spawn([&] {
      ::close(gate[1]);
      char c;
      (void)::read(gate[0], &c, 1);
      Result<std::unique_ptr<LinkLedger>> ledger = LinkLedger::open(path_);
      if (!ledger.ok()) return 2;
      Result<bool> got = (*ledger)->consume(link, kNow);
      if (!got.ok()) return 3;
      return *got ? 0 : 1;
    }));
  }
  ::close(gate[0]);
  ::close(gate[1]);  // EOF on the gate: every child starts
  int used = 0, refused = 0;
  for (pid_t pid : children) {
    int code = wait_for(pid);
    ASSERT_TRUE(code == 0 || code == 1) << "child failed with " << code;
    (code == 0 ? used : refused)++;
  }
  EXPECT_EQ(used, 1);
  EXPECT_EQ(refused, kProcesses - 1);
}

TEST_F(LinkLedgerTest, RowsArePurgedADayAfterTheirLinkExpired) {
  auto ledger = open();
  ASSERT_TRUE(ledger);
  InitiatorLink old_link = make_initiator_link("crm", "ana", kNow, minutes(15));
  ASSERT_TRUE(*ledger->consume(old_link, kNow));
  auto count = [&] { return raw_query(path_, "SELECT COUNT(*) FROM initiator_used_links"); };

  // Exactly a day after expiry the row stays; a second later it goes.
  SystemTime day_after = old_link.expires_at + hours(24);
  ASSERT_TRUE(
      *ledger->consume(make_initiator_link("crm", "bo", day_after, minutes(15)), day_after));
  EXPECT_EQ(count(), "2");
  SystemTime later = day_after + seconds(1);
  ASSERT_TRUE(*ledger->consume(make_initiator_link("crm", "cy", later, minutes(15)), later));
  EXPECT_EQ(count(), "2");
  EXPECT_EQ(raw_query(path_, "SELECT COUNT(*) FROM initiator_used_links WHERE nonce = '" +
                                 old_link.nonce + "'"),
            "0");
}

TEST_F(LinkLedgerTest, AnExpiredLinkIsRefusedAndNotRecorded) {
  auto ledger = open();
  ASSERT_TRUE(ledger);
  InitiatorLink link = make_initiator_link("crm", "ana", kNow, minutes(15));
  for (SystemTime now : {link.expires_at, link.expires_at + hours(48)}) {
    Result<bool> got = ledger->consume(link, now);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), "link_expired");
  }
  EXPECT_EQ(raw_query(path_, "SELECT COUNT(*) FROM initiator_used_links"), "0");
  EXPECT_TRUE(*ledger->consume(link, link.expires_at - seconds(1)));
}

TEST_F(LinkLedgerTest, AnEmptyNonceIsRefused) {
  auto ledger = open();
  ASSERT_TRUE(ledger);
  InitiatorLink link = sample_link();
  link.nonce.clear();
  Result<bool> got = ledger->consume(link, kNow);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), "link_malformed");
}

TEST_F(LinkLedgerTest, AnUnusablePathFailsNamingIt) {
  std::string blocker = dir_ + "/file";
  { std::ofstream touch(blocker); }
  path_ = blocker + "/links.db";
  Result<std::unique_ptr<LinkLedger>> ledger = LinkLedger::open(path_);
  ASSERT_FALSE(ledger.ok());
  EXPECT_EQ(ledger.status().code(), "io_error");
  EXPECT_NE(ledger.status().message().find(blocker), std::string::npos)
      << ledger.status().message();
}

TEST_F(LinkLedgerTest, ANewerSchemaIsRefused) {
  ASSERT_TRUE(open());
  {
    Result<std::unique_ptr<SqliteDb>> db = SqliteDb::open(path_);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(
        (*db)->exec("UPDATE schema_versions SET version = 99 WHERE component = 'initiator'").ok());
  }
  Result<std::unique_ptr<LinkLedger>> ledger = LinkLedger::open(path_);
  ASSERT_FALSE(ledger.ok());
  EXPECT_EQ(ledger.status().code(), "sqlite_schema_too_new");
  EXPECT_NE(ledger.status().message().find(path_), std::string::npos);
}

}  // namespace
}  // namespace flowline

// The vault's cryptography: key parsing, key files (creation, permissions,
// racing creators) and sealing with associated data.
#include "runtime/vault/vault_crypto.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace flowline {
namespace {

namespace fs = std::filesystem;
using namespace std::string_view_literals;

constexpr const char* kKeyA = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

std::span<const unsigned char> bytes(std::string_view s) {
  return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

class VaultCryptoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv(kVaultKeyEnv);
    char pattern[] = "/tmp/flowline-crypto-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    ::unsetenv(kVaultKeyEnv);
    fs::remove_all(dir_);
  }

  static std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static void write(const std::string& path, const std::string& text, mode_t mode) {
    std::ofstream(path, std::ios::binary) << text;
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
  }
  static mode_t mode_of(const std::string& path) {
    struct stat st;
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 0777;
  }

  std::string dir_;
};

// Two keys are the same when what one seals the other opens.
bool same_key(const VaultKey& a, const VaultKey& b) {
  SealedBox box = seal(a, bytes("probe"), "ad");
  return open_sealed(b, box.nonce, box.ciphertext, "ad").ok();
}

TEST_F(VaultCryptoTest, ParsesSixtyFourHexDigitsIgnoringSurroundingWhitespace) {
  Result<VaultKey> key = VaultKey::from_hex(std::string("  ") + kKeyA + "\n", "test");
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(key->to_hex().view(), kKeyA);
}

TEST_F(VaultCryptoTest, RejectsMalformedKeysWithoutEchoingThem) {
  const std::string cases[] = {
      std::string(kKeyA).substr(0, 63),                                        // one digit short
      std::string(kKeyA) + "0",                                                // one digit long
      "zz" + std::string(kKeyA).substr(2),                                     // not hex
      std::string(kKeyA).substr(0, 32) + " " + std::string(kKeyA).substr(33),  // a space inside
      "",
  };
  for (const std::string& text : cases) {
    Result<VaultKey> key = VaultKey::from_hex(text, "$FLOWLINE_VAULT_KEY");
    ASSERT_FALSE(key.ok()) << text;
    EXPECT_EQ(key.status().code(), "vault_key_invalid");
    EXPECT_NE(key.status().message().find("64 hexadecimal digits"), std::string::npos);
    EXPECT_NE(key.status().message().find("$FLOWLINE_VAULT_KEY"), std::string::npos);
    if (text.size() > 8) {
      EXPECT_EQ(key.status().message().find(text.substr(0, 16)), std::string::npos)
          << "the message echoes the key: " << key.status().message();
    }
  }
}

TEST_F(VaultCryptoTest, SealedValuesOpenOnlyWithTheSameKeyAndAssociatedData) {
  VaultKey key = VaultKey::generate();
  VaultKey other = VaultKey::generate();
  SealedBox box = seal(key, bytes("secret-access-token"), "cred\0alice"sv);

  Result<SecretBytes> opened = open_sealed(key, box.nonce, box.ciphertext, "cred\0alice"sv);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->view(), "secret-access-token");
  EXPECT_EQ(box.ciphertext.size(), std::string_view("secret-access-token").size() + kVaultTagBytes);

  EXPECT_EQ(open_sealed(other, box.nonce, box.ciphertext, "cred\0alice"sv).status().code(),
            "vault_decrypt_failed");
  EXPECT_FALSE(open_sealed(key, box.nonce, box.ciphertext, "cred\0bob"sv).ok());
  EXPECT_FALSE(open_sealed(key, box.nonce, box.ciphertext, "cred").ok())
      << "the NUL and user count";
  std::vector<unsigned char> tampered = box.ciphertext;
  tampered[0] ^= 1;
  EXPECT_FALSE(open_sealed(key, box.nonce, tampered, "cred\0alice"sv).ok());
  auto nonce = box.nonce;
  nonce[23] ^= 1;
  EXPECT_FALSE(open_sealed(key, nonce, box.ciphertext, "cred\0alice"sv).ok());
  EXPECT_FALSE(
      open_sealed(key, std::span(box.nonce).first(12), box.ciphertext, "cred\0alice"sv).ok());
  EXPECT_FALSE(open_sealed(key, box.nonce, std::span(box.ciphertext).first(15), "").ok());
}

TEST_F(VaultCryptoTest, EverySealUsesAFreshNonce) {
  VaultKey key = VaultKey::generate();
  std::set<std::string> nonces;
  std::set<std::vector<unsigned char>> ciphertexts;
  for (int i = 0; i < 100; ++i) {
    SealedBox box = seal(key, bytes("same plaintext"), "ad");
    nonces.insert(std::string(box.nonce.begin(), box.nonce.end()));
    ciphertexts.insert(box.ciphertext);
  }
  EXPECT_EQ(nonces.size(), 100u);
  EXPECT_EQ(ciphertexts.size(), 100u);
}

TEST_F(VaultCryptoTest, EnvironmentKeyWinsOverTheKeyFile) {
  ::setenv(kVaultKeyEnv, kKeyA, 1);
  std::string key_file = dir_ + "/vault.key";
  Result<LoadedVaultKey> loaded = load_vault_key(key_file);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->origin, "$FLOWLINE_VAULT_KEY");
  EXPECT_EQ(loaded->key.to_hex().view(), kKeyA);
  EXPECT_FALSE(fs::exists(key_file)) << "no key file is made when the variable gives the key";
}

TEST_F(VaultCryptoTest, AnEmptyEnvironmentVariableCountsAsUnset) {
  ::setenv(kVaultKeyEnv, "", 1);
  Result<LoadedVaultKey> loaded = load_vault_key(dir_ + "/vault.key");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->origin, "key file " + dir_ + "/vault.key");
}

TEST_F(VaultCryptoTest, AnInvalidEnvironmentKeyIsAnErrorNotAFallback) {
  std::string bad = std::string(kKeyA).substr(0, 62);
  ::setenv(kVaultKeyEnv, bad.c_str(), 1);
  Result<LoadedVaultKey> loaded = load_vault_key(dir_ + "/vault.key");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), "vault_key_invalid");
  EXPECT_EQ(loaded.status().message().find(bad), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ + "/vault.key"));
}

TEST_F(VaultCryptoTest, CreatesAPrivateKeyFileAndItsDirectoryOnFirstUse) {
  std::string key_file = dir_ + "/a/b/vault.key";
  Result<LoadedVaultKey> first = load_vault_key(key_file);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->origin, "key file " + key_file);
  EXPECT_EQ(mode_of(key_file), 0600u);
  EXPECT_EQ(mode_of(dir_ + "/a"), 0700u);
  EXPECT_EQ(mode_of(dir_ + "/a/b"), 0700u);
  std::string content = read(key_file);
  ASSERT_EQ(content.size(), 65u);
  EXPECT_EQ(content.back(), '\n');
  EXPECT_EQ(content.substr(0, 64), first->key.to_hex().view());
  // Only the key file: the temporary file it was written through is gone.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ + "/a/b"), fs::directory_iterator()), 1);

  Result<LoadedVaultKey> second = load_vault_key(key_file);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(same_key(first->key, second->key));
  EXPECT_EQ(read(key_file), content) << "an existing key file is never rewritten";
}

TEST_F(VaultCryptoTest, TwoFreshKeysDiffer) {
  Result<LoadedVaultKey> a = load_vault_key(dir_ + "/a.key");
  Result<LoadedVaultKey> b = load_vault_key(dir_ + "/b.key");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE(same_key(a->key, b->key));
}

TEST_F(VaultCryptoTest, RefusesAKeyFileOthersCanRead) {
  std::string key_file = dir_ + "/vault.key";
  for (mode_t mode : {0640, 0604, 0620, 0660, 0644}) {
    write(key_file, std::string(kKeyA) + "\n", mode);
    Result<LoadedVaultKey> loaded = load_vault_key(key_file);
    ASSERT_FALSE(loaded.ok()) << std::oct << mode;
    EXPECT_EQ(loaded.status().code(), "vault_key_insecure");
    EXPECT_NE(loaded.status().message().find(key_file), std::string::npos);
    EXPECT_NE(loaded.status().message().find("chmod 600 " + key_file), std::string::npos);
    EXPECT_EQ(loaded.status().message().find(kKeyA), std::string::npos);
    EXPECT_EQ(mode_of(key_file), mode) << "the vault never changes the key file's mode itself";
  }
  ASSERT_EQ(::chmod(key_file.c_str(), 0600), 0);
  EXPECT_TRUE(load_vault_key(key_file).ok());
  ASSERT_EQ(::chmod(key_file.c_str(), 0400), 0);
  EXPECT_TRUE(load_vault_key(key_file).ok()) << "read-only for the owner is fine";
}

TEST_F(VaultCryptoTest, RefusesAKeyPathThatIsNotARegularFile) {
  std::string key_dir = dir_ + "/vault.key";
  ASSERT_EQ(::mkdir(key_dir.c_str(), 0700), 0);
  Result<LoadedVaultKey> loaded = load_vault_key(key_dir);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), "vault_key_insecure");
  EXPECT_NE(loaded.status().message().find("not a regular file"), std::string::npos);
}

TEST_F(VaultCryptoTest, AKeyFileWithoutAKeyIsInvalidAndNamed) {
  std::string key_file = dir_ + "/vault.key";
  write(key_file, "password123\n", 0600);
  Result<LoadedVaultKey> loaded = load_vault_key(key_file);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), "vault_key_invalid");
  EXPECT_NE(loaded.status().message().find("key file " + key_file), std::string::npos);
  EXPECT_EQ(loaded.status().message().find("password123"), std::string::npos);

  write(key_file, std::string(5000, 'a'), 0600);
  loaded = load_vault_key(key_file);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), "vault_key_invalid");
  EXPECT_NE(loaded.status().message().find("larger than 4096 bytes"), std::string::npos);
}

TEST_F(VaultCryptoTest, ProcessesRacingToCreateTheKeyFileAllGetTheSameKey) {
  constexpr int kProcesses = 6;
  std::string key_file = dir_ + "/race/vault.key";
  int gate[2];
  ASSERT_EQ(::pipe(gate), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < kProcesses; ++i) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(gate[1]);
      char c;
      (void)::read(gate[0], &c, 1);  // returns when the parent closes the gate
      Result<LoadedVaultKey> loaded = load_vault_key(key_file);
      if (!loaded.ok()) ::_exit(2);
      // Seal a marker so the parent can tell which key this process got.
      SealedBox box = seal(loaded->key, bytes("child"), "race");
      std::ofstream out(dir_ + "/sealed-" + std::to_string(i), std::ios::binary);
      out.write(reinterpret_cast<const char*>(box.nonce.data()), box.nonce.size());
      out.write(reinterpret_cast<const char*>(box.ciphertext.data()), box.ciphertext.size());
      out.close();
      ::_exit(out ? 0 : 3);
    }
    children.push_back(pid);
  }
  ::close(gate[0]);
  ::close(gate[1]);
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  Result<LoadedVaultKey> winner = load_vault_key(key_file);
  ASSERT_TRUE(winner.ok());
  for (int i = 0; i < kProcesses; ++i) {
    std::string sealed = read(dir_ + "/sealed-" + std::to_string(i));
    ASSERT_GT(sealed.size(), kVaultNonceBytes);
    auto all = bytes(sealed);
    EXPECT_TRUE(
        open_sealed(winner->key, all.first(kVaultNonceBytes), all.subspan(kVaultNonceBytes), "race")
            .ok())
        << "process " << i << " used a key other than the one in the file";
  }
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ + "/race"), fs::directory_iterator()), 1)
      << "losers' temporary files are removed";
}

}  // namespace
}  // namespace flowline

// JsSandbox: one Duktape heap for one script execution — a script step or a
// `flowline script` file — with the limits DESIGN.md §2 asks for:
//   - wall time: the engine is interrupted (Duktape's execution-timeout
//     hook, compiled in; see CMakeLists.txt) once `timeout` has passed since
//     run() began; the script sees an uncatchable RangeError and fails with
//     "script_timeout";
//   - memory: every allocation goes through a counting allocator; past
//     `memory_bytes` allocations fail, the script gets an out-of-memory
//     error ("RangeError: alloc failed", once garbage collection cannot
//     make room) and fails with "script_memory" — also if it caught it;
//   - output size: get_value() refuses values whose JSON exceeds
//     `output_bytes` or nest deeper than 64 ("script_output").
// The global object has only ECMAScript 5.1 built-ins (plus the ES2015+
// parts Duktape 2.7 has), Duktape's own `Duktape` object (with
// `Duktape.modSearch` absent, so there is no require()), and what a host
// installs: no file system, process, network or timers. `print` and `alert`
// are removed. Not interruptible by the time limit: a single built-in call
// that runs long without executing bytecode (a regular expression that
// backtracks badly stops only at Duktape's own step limit).
//
// Values: Flowline Value <-> JavaScript. null/bool/string/array/object map
// directly; integer and number both become JS numbers; back from JS, a
// number that is a whole value within ±2^53 becomes an integer, others a
// number (NaN/Infinity are refused). `undefined` inside an object drops the
// key, in an array (or a hole) it is a null, at the top level it is a null.
// Only own enumerable properties are read. Functions, symbols, buffers,
// cycles are refused ("script_output" naming the path, e.g.
// "outputs.rows[3].f"). Strings are UTF-8 outside and UTF-16 inside: a
// character outside the BMP is one surrogate pair in JavaScript (length 2),
// as in a script literal; a lone surrogate comes back as U+FFFD.
//
// A script step, for example:
//   JsSandbox sandbox(limits);
//   install_host_api(sandbox, host);              // runtime/script/script_host.h
//   sandbox.set_global("inputs", inputs);          // a ValueObject
//   sandbox.set_global("outputs", ValueObject{});
//   if (auto failure = sandbox.run(code, "steps.fetch")) …  // failure->code/message/line
//   Result<Value> outputs = sandbox.get_global("outputs");  // script_output when refused
//
// Thread-safety: a sandbox belongs to one thread at a time. Different
// sandboxes may run on different threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "flowline/value.h"
#include "runtime/status.h"

struct duk_hthread;
typedef struct duk_hthread duk_context;

namespace flowline {

struct ScriptLimits {
  std::chrono::milliseconds timeout{10'000};
  size_t memory_bytes = 64u << 20;
  size_t output_bytes = 1u << 20;
};

// Why a script failed. `line` is the 1-based line within the script text
// where the error was thrown (0 when unknown); `code` is one of
// script_error (an uncaught exception or a syntax error), script_timeout,
// script_memory, script_output.
struct ScriptFailure {
  std::string code;
  std::string message;  // "TypeError: cannot read property 'x' of undefined"
  int line = 0;
};

class JsSandbox {
 public:
  explicit JsSandbox(const ScriptLimits& limits);
  ~JsSandbox();
  JsSandbox(const JsSandbox&) = delete;
  JsSandbox& operator=(const JsSandbox&) = delete;

  // The Duktape context, for hosts that install their own bindings.
  duk_context* context();
  const ScriptLimits& limits() const;

  // Pushes `value` onto the value stack. Never throws into Duktape: when the
  // value does not fit in the memory limit it pushes undefined instead and
  // the next run() fails with script_memory. Safe to call from a Duktape/C
  // function.
  void push_value(const Value& value);
  // Converts the value at `index` (see above for the rules). `what` names it
  // in messages ("outputs"). Getters and toJSON methods run (a Date becomes
  // its ISO string); an exception they throw fails the conversion with the
  // code failure_from_stack() would give. Safe to call from a Duktape/C
  // function.
  Result<Value> get_value(int index, std::string_view what);
  // Sets / reads a global variable. set_global fails like push_value.
  void set_global(const char* name, const Value& value);
  Result<Value> get_global(const char* name);

  // Compiles and runs `code` as a global program named `file_name` (shown
  // in stack traces; a leading "#!" line is allowed). The time limit starts
  // now and also covers get_value/get_global calls made after run() returns
  // (a getter cannot run forever). nullopt: the program ran to its end.
  std::optional<ScriptFailure> run(std::string_view code, std::string_view file_name);
  // When the time limit of the current (or last) run() ends;
  // time_point::max() before the first run(). Hosts that block (a
  // foreground FlowAPI run) wait no longer than this.
  std::chrono::steady_clock::time_point run_deadline() const;

  // Whether the time limit / memory limit has been hit during run() (also
  // when the script caught the error and went on: the failure still stands).
  bool timed_out() const;

  // A flag another thread may set to stop the script (a cancelled run): the
  // engine is interrupted like at the time limit and run() fails with code
  // "cancelled". The flag must outlive run().
  void set_cancel_flag(const std::atomic<bool>* flag);
  bool out_of_memory() const;

  // Turns the error value on top of the stack into a failure (code chosen
  // from the limits hit, message from the error's string, cut at 4 KiB, line
  // from its lineNumber or a SyntaxError's "(line N)") and pops it. For
  // hosts that make protected calls. A timeout or memory failure carries a
  // message naming the limit instead of Duktape's.
  ScriptFailure failure_from_stack();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Compiles `code` without running it (for `flowline validate`): nullopt when
// it compiles, else the syntax error with its line within `code`.
std::optional<ScriptFailure> check_script_syntax(std::string_view code);

}  // namespace flowline

#include "runtime/script/js_sandbox.h"

#include "dsl/script_syntax.h"

#include <duktape.h>
#include <fmt/format.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

// How this file stays safe with a C library that reports errors by longjmp:
// every Duktape call that can throw (anything that allocates, reads a
// property or runs script code) happens inside duk_safe_call or a protected
// compile/call. The functions that run inside those protected calls keep
// only trivially destructible locals, so a longjmp out of them skips no
// destructor; whatever they build lives in an object owned by a frame below
// the protected call.

namespace flowline {
namespace {

using Clock = std::chrono::steady_clock;

// The state Duktape's C callbacks reach through the heap udata: the
// allocator's accounting and the execution-timeout check.
struct HeapState {
  size_t limit = 0;
  size_t used = 0;
  // Duktape answers a refused allocation by collecting garbage and asking
  // again for the same size, up to this many times in all; only when every
  // attempt is refused does the script get an error. Counting the refusals in
  // a row tells a real out-of-memory from one a collection rescued.
  static constexpr int kAttemptsBeforeError = 10;
  size_t refused_size = 0;
  int refusals_in_a_row = 0;
  bool out_of_memory = false;

  Clock::time_point deadline = Clock::time_point::max();
  bool timed_out = false;
  const std::atomic<bool>* cancel = nullptr;  // set from another thread to stop the script
  bool cancelled = false;
  bool stopping = false;  // the heap is being destroyed: stop any finalizer at once
};

// Each block carries its size in front, aligned like malloc's blocks.
struct alignas(std::max_align_t) BlockHeader {
  size_t size;
};

void note_refusal(HeapState& heap, size_t size) {
  if (size == heap.refused_size) {
    ++heap.refusals_in_a_row;
  } else {
    heap.refused_size = size;
    heap.refusals_in_a_row = 1;
  }
  if (heap.refusals_in_a_row >= HeapState::kAttemptsBeforeError) heap.out_of_memory = true;
}

void note_success(HeapState& heap, size_t size) {
  if (size == heap.refused_size) heap.refusals_in_a_row = 0;
}

void* counting_alloc(void* udata, duk_size_t size) {
  auto& heap = *static_cast<HeapState*>(udata);
  size_t total = sizeof(BlockHeader) + size;
  if (total > heap.limit - heap.used || total < size) {
    note_refusal(heap, size);
    return nullptr;
  }
  auto* block = static_cast<BlockHeader*>(std::malloc(total));
  if (!block) {
    note_refusal(heap, size);
    return nullptr;
  }
  block->size = size;
  heap.used += total;
  note_success(heap, size);
  return block + 1;
}

void counting_free(void* udata, void* ptr) {
  if (!ptr) return;
  auto& heap = *static_cast<HeapState*>(udata);
  auto* block = static_cast<BlockHeader*>(ptr) - 1;
  heap.used -= sizeof(BlockHeader) + block->size;
  std::free(block);
}

void* counting_realloc(void* udata, void* ptr, duk_size_t size) {
  if (!ptr) return counting_alloc(udata, size);
  auto& heap = *static_cast<HeapState*>(udata);
  auto* block = static_cast<BlockHeader*>(ptr) - 1;
  size_t old_size = block->size;
  if (size > old_size && size - old_size > heap.limit - heap.used) {
    note_refusal(heap, size);
    return nullptr;  // the old block stays as it was
  }
  auto* grown = static_cast<BlockHeader*>(std::realloc(block, sizeof(BlockHeader) + size));
  if (!grown) {
    note_refusal(heap, size);
    return nullptr;
  }
  grown->size = size;
  heap.used = heap.used - old_size + size;
  note_success(heap, size);
  return grown + 1;
}

// Duktape calls this for errors it cannot throw anywhere (none of ours: every
// call is protected) and for internal corruption. It must not return.
void on_fatal(void* /*udata*/, const char* message) {
  std::fprintf(stderr, "flowline: fatal error in the JavaScript engine: %s\n",
               message ? message : "(no message)");
  std::fflush(stderr);
  std::abort();
}

std::string format_bytes(size_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  if (bytes >= (1u << 10) && bytes % (1u << 10) == 0) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} bytes", bytes);
}

// --- strings ---------------------------------------------------------------
// Duktape keeps strings as CESU-8: a character outside the BMP is a pair of
// 3-byte surrogates, which is what script literals and "\uD83D\uDE00"
// produce. Flowline's strings are UTF-8. Converting at the boundary keeps
// '😀' from a script equal to '😀' from an input.

bool utf8_four_byte(const unsigned char* p, size_t left, uint32_t* code_point) {
  if (left < 4 || p[0] < 0xF0 || p[0] > 0xF4) return false;
  for (int i = 1; i < 4; ++i)
    if ((p[i] & 0xC0) != 0x80) return false;
  uint32_t cp = (uint32_t(p[0] & 0x07) << 18) | (uint32_t(p[1] & 0x3F) << 12) |
                (uint32_t(p[2] & 0x3F) << 6) | uint32_t(p[3] & 0x3F);
  if (cp < 0x10000 || cp > 0x10FFFF) return false;
  *code_point = cp;
  return true;
}

bool needs_cesu8(const std::string& text) {
  for (unsigned char c : text)
    if (c >= 0xF0) return true;
  return false;
}

size_t cesu8_size(const std::string& text) {
  auto* p = reinterpret_cast<const unsigned char*>(text.data());
  size_t size = 0;
  uint32_t cp;
  for (size_t i = 0; i < text.size();) {
    if (utf8_four_byte(p + i, text.size() - i, &cp)) {
      size += 6;
      i += 4;
    } else {
      size += 1;
      i += 1;
    }
  }
  return size;
}

char* put_three_bytes(char* out, uint32_t unit) {
  *out++ = static_cast<char>(0xE0 | (unit >> 12));
  *out++ = static_cast<char>(0x80 | ((unit >> 6) & 0x3F));
  *out++ = static_cast<char>(0x80 | (unit & 0x3F));
  return out;
}

void write_cesu8(const std::string& text, char* out) {
  auto* p = reinterpret_cast<const unsigned char*>(text.data());
  uint32_t cp;
  for (size_t i = 0; i < text.size();) {
    if (utf8_four_byte(p + i, text.size() - i, &cp)) {
      cp -= 0x10000;
      out = put_three_bytes(out, 0xD800 + (cp >> 10));
      out = put_three_bytes(out, 0xDC00 + (cp & 0x3FF));
      i += 4;
    } else {
      *out++ = static_cast<char>(p[i++]);
    }
  }
}

// A surrogate encoded in three bytes (ED A0..BF xx): its UTF-16 unit, or 0.
uint32_t surrogate_at(const unsigned char* p, size_t left) {
  if (left < 3 || p[0] != 0xED || p[1] < 0xA0 || p[1] > 0xBF || (p[2] & 0xC0) != 0x80) return 0;
  return 0xD000 | (uint32_t(p[1] & 0x3F) << 6) | uint32_t(p[2] & 0x3F);
}

// Pairs of surrogates become one 4-byte UTF-8 character; a lone surrogate
// becomes U+FFFD.
std::string cesu8_to_utf8(const char* text, size_t size) {
  if (!std::memchr(text, 0xED, size)) return std::string(text, size);
  auto* p = reinterpret_cast<const unsigned char*>(text);
  std::string out;
  out.reserve(size);
  for (size_t i = 0; i < size;) {
    uint32_t high = surrogate_at(p + i, size - i);
    if (!high) {
      out += static_cast<char>(p[i++]);
      continue;
    }
    uint32_t low = high < 0xDC00 ? surrogate_at(p + i + 3, size - i - 3) : 0;
    if (low >= 0xDC00) {
      uint32_t cp = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
      i += 6;
    } else {
      out += "\xEF\xBF\xBD";
      i += 3;
    }
  }
  return out;
}

// Cuts `text` to at most `max` bytes without splitting a character.
void truncate_utf8(std::string& text, size_t max) {
  if (text.size() <= max) return;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
}

// --- Value -> JavaScript -------------------------------------------------

void push_string(duk_context* ctx, const std::string& text) {
  if (!needs_cesu8(text)) {
    duk_push_lstring(ctx, text.data(), text.size());
    return;
  }
  size_t size = cesu8_size(text);
  auto* buffer = static_cast<char*>(duk_push_fixed_buffer(ctx, size));
  write_cesu8(text, buffer);
  duk_buffer_to_string(ctx, -1);
}

void push_value_unprotected(duk_context* ctx, const Value& value) {
  duk_require_stack(ctx, 3);
  switch (value.type()) {
    case Value::Type::Null:
      duk_push_null(ctx);
      return;
    case Value::Type::Boolean:
      duk_push_boolean(ctx, value.as_bool());
      return;
    case Value::Type::Integer:
    case Value::Type::Number:
      duk_push_number(ctx, value.as_number());
      return;
    case Value::Type::String:
      push_string(ctx, value.as_string());
      return;
    case Value::Type::Array: {
      duk_idx_t array = duk_push_array(ctx);
      duk_uarridx_t index = 0;
      for (const Value& element : value.as_array()) {
        // Defined, not assigned: a setter the script put on Array.prototype
        // never sees the data.
        duk_push_uint(ctx, index++);
        push_value_unprotected(ctx, element);
        duk_def_prop(ctx, array, DUK_DEFPROP_HAVE_VALUE | DUK_DEFPROP_SET_WEC);
      }
      return;
    }
    case Value::Type::Object: {
      duk_idx_t object = duk_push_object(ctx);
      for (const auto& [key, member] : value.as_object()) {
        push_string(ctx, key);  // "__proto__" becomes an own property too
        push_value_unprotected(ctx, member);
        duk_def_prop(ctx, object, DUK_DEFPROP_HAVE_VALUE | DUK_DEFPROP_SET_WEC);
      }
      return;
    }
  }
}

duk_ret_t push_value_protected(duk_context* ctx, void* udata) {
  push_value_unprotected(ctx, *static_cast<const Value*>(udata));
  return 1;
}

struct SetGlobal {
  const char* name;
  const Value* value;
};

duk_ret_t set_global_protected(duk_context* ctx, void* udata) {
  auto* args = static_cast<SetGlobal*>(udata);
  push_value_unprotected(ctx, *args->value);
  duk_put_global_string(ctx, args->name);
  return 0;
}

duk_ret_t get_global_protected(duk_context* ctx, void* udata) {
  duk_get_global_string(ctx, static_cast<const char*>(udata));
  return 1;
}

// --- JavaScript -> Value -------------------------------------------------

constexpr int kMaxDepth = 64;

struct PathSegment {
  const std::string* key = nullptr;  // a member, or else an array index
  size_t index = 0;
};

// One conversion: owned by get_value's frame, filled in by the protected
// walk below.
struct Conversion {
  std::string what;
  size_t output_limit = 0;
  Value root;
  std::vector<PathSegment> path;
  std::vector<void*> open_containers;  // for cycles
  size_t json_size = 0;                // a running estimate of the JSON text
  std::optional<std::string> refusal;  // why the value cannot leave the script
};

bool is_identifier(const std::string& key) {
  if (key.empty()) return false;
  for (size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string path_text(const Conversion& conversion) {
  std::string text = conversion.what;
  for (const PathSegment& segment : conversion.path) {
    if (!segment.key) {
      text += fmt::format("[{}]", segment.index);
    } else if (is_identifier(*segment.key)) {
      text += '.';
      text += *segment.key;
    } else {
      text += '[';
      text += Value(*segment.key).to_json();
      text += ']';
    }
  }
  return text;
}

size_t json_string_size(const std::string& text) {
  size_t size = 2 + text.size();
  for (unsigned char c : text) {
    if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f')
      size += 1;
    else if (c < 0x20)
      size += 5;
  }
  return size;
}

size_t json_number_size(double number) {
  char text[32];
  int n = std::snprintf(text, sizeof text, "%.17g", number);
  return n > 0 ? static_cast<size_t>(n) : 1;
}

// Adds to the JSON size estimate; false (with the refusal set) past the limit.
bool grow(Conversion& conversion, size_t bytes) {
  conversion.json_size += bytes;
  if (conversion.json_size <= conversion.output_limit) return true;
  conversion.refusal = fmt::format("{} is larger than the output limit of {} (as JSON)",
                                   conversion.what, format_bytes(conversion.output_limit));
  return false;
}

bool refuse(Conversion& conversion, std::string_view why) {
  conversion.refusal = fmt::format("{} {}", path_text(conversion), why);
  return false;
}

bool convert_top(duk_context* ctx, Conversion& conversion, Value& out, int depth);

bool convert_array(duk_context* ctx, Conversion& conversion, Value& out, int depth) {
  duk_size_t length = duk_get_length(ctx, -1);
  out = ValueArray{};
  if (!grow(conversion, 2)) return false;
  for (duk_size_t i = 0; i < length; ++i) {
    if (i > 0 && !grow(conversion, 1)) return false;
    duk_get_prop_index(ctx, -1, static_cast<duk_uarridx_t>(i));
    conversion.path.push_back(PathSegment{nullptr, i});
    ValueArray& array = out.mutable_array();
    array.emplace_back();
    if (!convert_top(ctx, conversion, array.back(), depth + 1)) return false;
    if (duk_is_undefined(ctx, -1) && !grow(conversion, 4)) return false;  // null, as in JSON
    conversion.path.pop_back();
    duk_pop(ctx);
  }
  return true;
}

bool convert_object(duk_context* ctx, Conversion& conversion, Value& out, int depth) {
  out = ValueObject{};
  if (!grow(conversion, 2)) return false;
  bool first = true;
  duk_enum(ctx, -1, DUK_ENUM_OWN_PROPERTIES_ONLY);
  while (duk_next(ctx, -1, 0)) {  // [object enum key]
    duk_size_t key_length = 0;
    const char* key = duk_get_lstring(ctx, -1, &key_length);
    ValueObject& object = out.mutable_object();
    auto member = object.insert_or_assign(cesu8_to_utf8(key, key_length), Value()).first;
    // On the path before the read: a getter that throws is named too.
    conversion.path.push_back(PathSegment{&member->first, 0});
    duk_dup(ctx, -1);
    duk_get_prop(ctx, -4);            // [object enum key value]
    if (duk_is_undefined(ctx, -1)) {  // dropped, as JSON.stringify does
      conversion.path.pop_back();
      object.erase(member);
      duk_pop_2(ctx);
      continue;
    }
    if (!grow(conversion, json_string_size(member->first) + 1 + (first ? 0 : 1))) return false;
    first = false;
    if (!convert_top(ctx, conversion, member->second, depth + 1)) return false;
    conversion.path.pop_back();
    duk_pop_2(ctx);
  }
  duk_pop(ctx);  // the enumerator
  return true;
}

bool call_to_json(duk_context* ctx) {
  // [value] -> [value replacement] when the value has a toJSON method (Date).
  duk_get_prop_string(ctx, -1, "toJSON");
  if (!duk_is_callable(ctx, -1)) {
    duk_pop(ctx);
    return false;
  }
  duk_dup(ctx, -2);
  duk_call_method(ctx, 0);
  return true;
}

// Converts the value on top of the stack into `out`, leaving the stack as
// it was. `depth` counts the containers around it.
bool convert_top(duk_context* ctx, Conversion& conversion, Value& out, int depth) {
  duk_require_stack(ctx, 6);
  if (duk_is_symbol(ctx, -1))
    return refuse(conversion, "is a symbol; only JSON values can leave a script");
  switch (duk_get_type(ctx, -1)) {
    case DUK_TYPE_UNDEFINED:
    case DUK_TYPE_NULL:
      out = nullptr;
      return duk_is_undefined(ctx, -1) || grow(conversion, 4);
    case DUK_TYPE_BOOLEAN:
      out = static_cast<bool>(duk_get_boolean(ctx, -1));
      return grow(conversion, out.as_bool() ? 4 : 5);
    case DUK_TYPE_NUMBER: {
      double number = duk_get_number(ctx, -1);
      if (std::isnan(number))
        return refuse(conversion, "is NaN; only finite numbers can leave a script");
      if (std::isinf(number))
        return refuse(conversion, "is Infinity; only finite numbers can leave a script");
      constexpr double kMaxExact = 9007199254740992.0;  // 2^53
      if (number == std::trunc(number) && std::fabs(number) <= kMaxExact) {
        out = static_cast<int64_t>(number);
        return grow(conversion, fmt::formatted_size("{}", out.as_integer()));
      }
      out = number;
      return grow(conversion, json_number_size(number));
    }
    case DUK_TYPE_STRING: {
      duk_size_t length = 0;
      const char* text = duk_get_lstring(ctx, -1, &length);
      out = cesu8_to_utf8(text, length);
      return grow(conversion, json_string_size(out.as_string()));
    }
    case DUK_TYPE_OBJECT:
      break;
    case DUK_TYPE_BUFFER:
      return refuse(conversion, "is a buffer; only JSON values can leave a script");
    case DUK_TYPE_LIGHTFUNC:
      return refuse(conversion, "is a function; only JSON values can leave a script");
    default:
      return refuse(conversion, "is not a JSON value");
  }
  if (duk_is_callable(ctx, -1))
    return refuse(conversion, "is a function; only JSON values can leave a script");
  if (duk_is_buffer_data(ctx, -1))
    return refuse(conversion, "is a buffer; only JSON values can leave a script");
  if (depth >= kMaxDepth)
    return refuse(conversion, fmt::format("nests deeper than {} levels", kMaxDepth));
  if (call_to_json(ctx)) {
    if (duk_is_object(ctx, -1) && duk_get_heapptr(ctx, -1) == duk_get_heapptr(ctx, -2)) {
      duk_pop(ctx);  // toJSON returned the object itself: convert it as it is
    } else {
      bool ok = convert_top(ctx, conversion, out, depth + 1);
      if (ok) duk_pop(ctx);
      return ok;
    }
  }

  void* self = duk_get_heapptr(ctx, -1);
  for (void* open : conversion.open_containers) {
    if (open == self) return refuse(conversion, "is a circular reference");
  }
  conversion.open_containers.push_back(self);
  bool ok = duk_is_array(ctx, -1) ? convert_array(ctx, conversion, out, depth)
                                  : convert_object(ctx, conversion, out, depth);
  if (ok) conversion.open_containers.pop_back();
  return ok;
}

duk_ret_t convert_protected(duk_context* ctx, void* udata) {
  auto& conversion = *static_cast<Conversion*>(udata);
  convert_top(ctx, conversion, conversion.root, 0);
  return 0;
}

// --- errors --------------------------------------------------------------

constexpr size_t kMaxMessageBytes = 4096;

// [error] -> [description]; `line` from the error's lineNumber.
duk_ret_t describe_error_protected(duk_context* ctx, void* udata) {
  auto* line = static_cast<int*>(udata);
  if (duk_is_object(ctx, -1)) {
    duk_get_prop_string(ctx, -1, "lineNumber");
    if (duk_is_number(ctx, -1)) *line = static_cast<int>(duk_get_number(ctx, -1));
    duk_pop(ctx);
  }
  duk_to_string(ctx, -1);
  return 1;
}

// Duktape's SyntaxError messages end in "(line N)" or "(line N, end of input)".
int line_from_message(const std::string& message) {
  auto at = message.rfind("(line ");
  if (at == std::string::npos) return 0;
  return std::atoi(message.c_str() + at + 6);
}

struct Program {
  const char* code;
  size_t code_size;
  const char* file_name;
  size_t file_name_size;
  bool run;
};

// Compiles (and runs) a program; a syntax error is thrown like any other.
duk_ret_t program_protected(duk_context* ctx, void* udata) {
  auto* program = static_cast<Program*>(udata);
  duk_push_lstring(ctx, program->code, program->code_size);
  duk_push_lstring(ctx, program->file_name, program->file_name_size);
  duk_compile(ctx, DUK_COMPILE_SHEBANG);
  if (program->run) duk_call(ctx, 0);
  return 0;
}

// The global object keeps the ECMAScript built-ins and `Duktape`; nothing
// that prints or loads modules (absent from our Duktape build already, and
// removed here in case a different build has them).
duk_ret_t strip_globals_protected(duk_context* ctx, void*) {
  duk_push_global_object(ctx);
  for (const char* name : {"print", "alert", "require"}) duk_del_prop_string(ctx, -1, name);
  if (duk_get_prop_string(ctx, -1, "Duktape") && duk_is_object(ctx, -1)) {
    for (const char* name : {"modSearch", "modLoaded"}) duk_del_prop_string(ctx, -1, name);
  }
  return 0;
}

}  // namespace
}  // namespace flowline

// Duktape's execution-timeout hook (DUK_USE_EXEC_TIMEOUT_CHECK in our
// duk_config.h), called every so many bytecode instructions. Once it has
// said "timed out" it keeps saying so, which makes the RangeError
// uncatchable: Duktape rethrows before any catch or finally block runs.
extern "C" int flowline_duk_exec_timeout_check(void* udata) {
  auto* heap = static_cast<flowline::HeapState*>(udata);
  if (!heap) return 0;
  if (heap->timed_out || heap->cancelled || heap->stopping) return 1;
  if (heap->cancel && heap->cancel->load(std::memory_order_relaxed)) {
    heap->cancelled = true;
    return 1;
  }
  if (heap->deadline != flowline::Clock::time_point::max() &&
      flowline::Clock::now() >= heap->deadline) {
    heap->timed_out = true;
    return 1;
  }
  return 0;
}

namespace flowline {

struct JsSandbox::Impl {
  ScriptLimits limits;
  HeapState heap;
  duk_context* ctx = nullptr;
  // A failure outside run() (pushing a value past the memory limit): the
  // next run() reports it.
  std::optional<ScriptFailure> pending;
  // Why there is no heap (the memory limit is below what Duktape needs).
  std::optional<ScriptFailure> no_heap;

  void defer(ScriptFailure failure) {
    if (!pending) pending = std::move(failure);
  }
};

JsSandbox::JsSandbox(const ScriptLimits& limits) : impl_(std::make_unique<Impl>()) {
  impl_->limits = limits;
  impl_->heap.limit = limits.memory_bytes;
  impl_->ctx =
      duk_create_heap(counting_alloc, counting_realloc, counting_free, &impl_->heap, on_fatal);
  if (!impl_->ctx) {
    impl_->no_heap = ScriptFailure{
        "script_memory",
        fmt::format("the memory limit of {} is too small to start the JavaScript engine",
                    format_bytes(limits.memory_bytes)),
        0};
    return;
  }
  if (duk_safe_call(impl_->ctx, strip_globals_protected, nullptr, 0, 1) != DUK_EXEC_SUCCESS) {
    impl_->defer(failure_from_stack());
  } else {
    duk_pop(impl_->ctx);
  }
}

JsSandbox::~JsSandbox() {
  if (!impl_->ctx) return;
  impl_->heap.stopping = true;  // finalizers the script left behind get no time
  duk_destroy_heap(impl_->ctx);
}

duk_context* JsSandbox::context() { return impl_->ctx; }

const ScriptLimits& JsSandbox::limits() const { return impl_->limits; }

std::chrono::steady_clock::time_point JsSandbox::run_deadline() const {
  return impl_->heap.deadline;
}

bool JsSandbox::timed_out() const { return impl_->heap.timed_out; }

void JsSandbox::set_cancel_flag(const std::atomic<bool>* flag) { impl_->heap.cancel = flag; }

bool JsSandbox::out_of_memory() const { return impl_->heap.out_of_memory; }

namespace {

// Every entry point below reserves value-stack room with duk_check_stack,
// which reports failure instead of throwing: duk_safe_call itself throws
// when its results would not fit.
constexpr duk_idx_t kEntryReserve = 4;

ScriptFailure no_stack_failure(const ScriptLimits& limits) {
  return ScriptFailure{"script_memory",
                       fmt::format("the JavaScript value stack could not grow within the memory "
                                   "limit of {}",
                                   format_bytes(limits.memory_bytes)),
                       0};
}

}  // namespace

void JsSandbox::push_value(const Value& value) {
  duk_context* ctx = impl_->ctx;
  if (!ctx) return;
  if (!duk_check_stack(ctx, kEntryReserve)) {
    impl_->defer(no_stack_failure(impl_->limits));  // and nothing can be pushed
    return;
  }
  if (duk_safe_call(ctx, push_value_protected, const_cast<Value*>(&value), 0, 1) ==
      DUK_EXEC_SUCCESS)
    return;
  impl_->defer(failure_from_stack());
  duk_push_undefined(ctx);  // the slot the error occupied
}

void JsSandbox::set_global(const char* name, const Value& value) {
  duk_context* ctx = impl_->ctx;
  if (!ctx) return;
  if (!duk_check_stack(ctx, kEntryReserve)) {
    impl_->defer(no_stack_failure(impl_->limits));
    return;
  }
  SetGlobal args{name, &value};
  if (duk_safe_call(ctx, set_global_protected, &args, 0, 1) == DUK_EXEC_SUCCESS) {
    duk_pop(ctx);
    return;
  }
  ScriptFailure failure = failure_from_stack();
  failure.message = fmt::format("cannot set {}: {}", name, failure.message);
  impl_->defer(std::move(failure));
}

Result<Value> JsSandbox::get_value(int index, std::string_view what) {
  duk_context* ctx = impl_->ctx;
  if (!ctx) return Status(impl_->no_heap->code, impl_->no_heap->message);
  index = duk_normalize_index(ctx, index);
  if (index < 0) return Status("script_output", fmt::format("{} is not on the value stack", what));
  if (!duk_check_stack(ctx, kEntryReserve)) {
    ScriptFailure failure = no_stack_failure(impl_->limits);
    return Status(failure.code, failure.message);
  }
  Conversion conversion;
  conversion.what = std::string(what);
  conversion.output_limit = impl_->limits.output_bytes;
  duk_dup(ctx, index);
  int rc = duk_safe_call(ctx, convert_protected, &conversion, 1, 1);
  if (rc != DUK_EXEC_SUCCESS) {
    // Script code that ran during the conversion (a getter, toJSON) failed.
    std::string where = path_text(conversion);
    ScriptFailure failure = failure_from_stack();
    return Status(failure.code, fmt::format("{}: {}", where, failure.message));
  }
  duk_pop(ctx);
  if (conversion.refusal) return Status("script_output", *conversion.refusal);
  return std::move(conversion.root);
}

Result<Value> JsSandbox::get_global(const char* name) {
  duk_context* ctx = impl_->ctx;
  if (!ctx) return Status(impl_->no_heap->code, impl_->no_heap->message);
  if (!duk_check_stack(ctx, kEntryReserve)) {
    ScriptFailure failure = no_stack_failure(impl_->limits);
    return Status(failure.code, failure.message);
  }
  if (duk_safe_call(ctx, get_global_protected, const_cast<char*>(name), 0, 1) != DUK_EXEC_SUCCESS) {
    ScriptFailure failure = failure_from_stack();
    return Status(failure.code, fmt::format("{}: {}", name, failure.message));
  }
  Result<Value> value = get_value(-1, name);
  duk_pop(ctx);
  return value;
}

std::optional<ScriptFailure> JsSandbox::run(std::string_view code, std::string_view file_name) {
  Impl& impl = *impl_;
  if (!impl.ctx) return impl.no_heap;
  if (impl.pending) {
    auto failure = std::move(impl.pending);
    impl.pending.reset();
    return failure;
  }
  HeapState& heap = impl.heap;
  heap.timed_out = false;
  heap.cancelled = false;
  heap.out_of_memory = false;
  heap.refusals_in_a_row = 0;
  heap.deadline = Clock::now() + impl.limits.timeout;

  Program program{code.data(), code.size(), file_name.data(), file_name.size(), true};
  duk_context* ctx = impl.ctx;
  if (!duk_check_stack(ctx, kEntryReserve)) return no_stack_failure(impl.limits);
  bool ok = duk_safe_call(ctx, program_protected, &program, 0, 1) == DUK_EXEC_SUCCESS;
  // A script that finished after its time was up (blocked in a host call,
  // say) ran too long, even if the hook never fired.
  if (!heap.timed_out && Clock::now() >= heap.deadline) heap.timed_out = true;
  if (!ok) return failure_from_stack();
  duk_pop(ctx);
  // A script that caught the limit's error still failed.
  if (heap.timed_out || heap.out_of_memory || heap.cancelled) {
    duk_push_undefined(ctx);
    return failure_from_stack();
  }
  return std::nullopt;
}

ScriptFailure JsSandbox::failure_from_stack() {
  duk_context* ctx = impl_->ctx;
  if (!ctx) return *impl_->no_heap;
  ScriptFailure failure;
  int line = 0;
  if (!duk_check_stack(ctx, kEntryReserve)) {
    failure.message = "uncaught exception (no room to describe it)";
    duk_pop(ctx);
  } else {
    duk_dup(ctx, -1);
    if (duk_safe_call(ctx, describe_error_protected, &line, 1, 1) == DUK_EXEC_SUCCESS) {
      duk_size_t length = 0;
      const char* text = duk_get_lstring(ctx, -1, &length);
      failure.message = cesu8_to_utf8(text, length);
      truncate_utf8(failure.message, kMaxMessageBytes);
    } else {
      failure.message = "uncaught exception (it could not be described)";
    }
    duk_pop_2(ctx);
  }
  failure.line = line > 0 ? line : line_from_message(failure.message);

  const HeapState& heap = impl_->heap;
  bool alloc_failed = failure.message == "RangeError: alloc failed";
  if (heap.cancelled) {
    failure.code = "cancelled";
    failure.message = "the run was cancelled while its script ran";
  } else if (heap.timed_out) {
    failure.code = "script_timeout";
    failure.message = fmt::format("the script ran longer than its time limit of {} ms",
                                  impl_->limits.timeout.count());
  } else if (heap.out_of_memory || alloc_failed) {
    failure.code = "script_memory";
    failure.message = fmt::format("the script needed more memory than its limit of {}",
                                  format_bytes(impl_->limits.memory_bytes));
  } else {
    failure.code = "script_error";
  }
  return failure;
}

std::optional<ScriptFailure> check_script_syntax(std::string_view code) {
  // One compiler for validation and scripts alike (dsl/script_syntax.h).
  auto error = find_script_syntax_error(code);
  if (!error) return std::nullopt;
  return ScriptFailure{"script_error", std::move(error->message), error->line};
}

}  // namespace flowline

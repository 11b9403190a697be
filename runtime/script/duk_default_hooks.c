/* The execution-timeout hook the Duktape build calls (DUK_USE_EXEC_TIMEOUT_CHECK,
 * see CMakeLists.txt), as a weak default that never interrupts: a heap made
 * only to compile (flowline validate) runs no bytecode. The JavaScript sandbox
 * (runtime/script/js_sandbox.cc) defines the real hook, which replaces this one
 * whenever the sandbox is linked in. Compiled into the flowline_duktape library. */
__attribute__((weak)) int flowline_duk_exec_timeout_check(void *udata) {
  (void)udata;
  return 0;
}

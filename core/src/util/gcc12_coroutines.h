#pragma once
// Included by files that define Asio coroutines: GCC 12 reports a false
// -Wmismatched-new-delete for some coroutine frames (Asio's frame allocator pairs its own
// operator new and delete), which -Werror builds would otherwise stop on.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

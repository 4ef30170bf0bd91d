# Warnings and sanitizer options shared by every opsrl target, as an INTERFACE target so that
# no global flag variable is overwritten.
add_library(opsrl_options INTERFACE)
add_library(opsrl::options ALIAS opsrl_options)
target_compile_options(opsrl_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
  # Bit-identical runs across builds: never fuse multiply-adds behind our back.
  -ffp-contract=off)

option(OPSRL_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
if(OPSRL_SANITIZE)
  target_compile_options(opsrl_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer)
  target_link_options(opsrl_options INTERFACE -fsanitize=address,undefined)
endif()

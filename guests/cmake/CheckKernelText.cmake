# Fails the build when the guest's CPL0 code contains an instruction that this
# host's KVM cannot emulate (see /work/shared/platform-facts.md), or when the
# PVH entry note is missing. Run as: cmake -DELF=... -DOBJDUMP=... -P <this>.

function(guest_check_fail msg)
  file(REMOVE ${ELF})
  message(FATAL_ERROR "smartvm-guest: ${msg}")
endfunction()

execute_process(COMMAND ${OBJDUMP} -h ${ELF} OUTPUT_VARIABLE headers RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  guest_check_fail("objdump -h failed")
endif()
if(NOT headers MATCHES "\\.note\\.Xen")
  guest_check_fail("the Xen PHYS32_ENTRY note section (.note.Xen) is missing")
endif()

# .boot holds the 32-bit entry; .text is everything else that runs at CPL0.
set(bad_insns "int3?|into|cmpxchg16b|xgetbv|xsetbv|xsave[a-z0-9]*|xrstor[a-z0-9]*|popcnt|rdtscp|invpcid|stac|clac|monitor|mwait|vmcall|vmmcall|endbr64|endbr32|pxor|\\(bad\\)")
foreach(part "-M;i386;-j;.boot" "-j;.text")
  execute_process(COMMAND ${OBJDUMP} -d --no-show-raw-insn ${part} ${ELF}
                  OUTPUT_VARIABLE text RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    guest_check_fail("objdump -d ${part} failed")
  endif()
  string(REGEX MATCHALL "[^\n]*[\t ](${bad_insns})[ \n][^\n]*" hits "${text}")
  string(REGEX MATCHALL "[^\n]*%[xyz]mm[0-9][^\n]*" simd "${text}")
  string(REGEX MATCHALL "[^\n]*%st[^\n]*" x87 "${text}")
  list(APPEND hits ${simd} ${x87})
  if(hits)
    list(JOIN hits "\n" lines)
    guest_check_fail("CPL0 code uses instructions the KVM emulator here cannot run:\n${lines}")
  endif()
endforeach()

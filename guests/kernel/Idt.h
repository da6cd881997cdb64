// The interrupt descriptor table: the 32 exception vectors only.
#pragma once

namespace idt {

/// Points every exception vector at its stub and loads the IDT.
void init();

/// Loads an IDT with limit 0, so the next exception triple-faults.
void loadEmpty();

}  // namespace idt

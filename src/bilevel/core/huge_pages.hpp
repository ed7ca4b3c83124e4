#pragma once
// A hint for large data matrices: back them with transparent huge pages (2 MB) where the kernel allows
// it (Linux with transparent_hugepage in "madvise" or "always" mode). A minibatch's rows lie anywhere in
// a matrix of hundreds of megabytes, and with 4 kB pages nearly every row read costs a TLB miss (with
// them, the time of a minibatch hypergradient varied by 2x from one process to the next: measured in
// docs/performance.md).
#include <cstddef>
#include <cstdint>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace bilevel {

// Advises the whole 2 MB pages inside [data, data + bytes); call it before the memory is first written
// (the kernel backs each page when it is first touched). Does nothing elsewhere or when declined.
inline void advise_huge_pages(void* data, std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr std::uintptr_t kPage = std::uintptr_t{2} << 20;
  const auto begin = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t first = (begin + kPage - 1) / kPage * kPage, end = begin + bytes;
  if (end >= first + kPage) madvise(reinterpret_cast<void*>(first), (end - first) / kPage * kPage, MADV_HUGEPAGE);
#else
  (void)data;
  (void)bytes;
#endif
}

}  // namespace bilevel

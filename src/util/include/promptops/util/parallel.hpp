// SPDX-License-Identifier: MIT
// Runs independent CPU-bound work items on all cores (parsing many files, for instance).
#pragma once

#include <cstddef>
#include <functional>

namespace promptops::util {

// Calls work(i) for every i in [0, count), spread over up to hardware_concurrency() threads;
// returns when all are done. work must be safe to call concurrently for different i. The first
// exception thrown by any item is rethrown here (the remaining items still run).
void parallel_for(std::size_t count, const std::function<void(std::size_t)>& work);

}  // namespace promptops::util

// report.html: the backtest's tables and two plots drawn by gnuplot (Debian's gnuplot-nox, run as a child
// process with its SVG terminal; the SVG is inlined so the page opens offline): each arm's cost/overload
// frontier, and demand against the ready capacity of the main arms over time. Thread-compatible (a private
// temporary directory per call).
#pragma once

#include <string>

#include "advisor/core/backtest.h"
#include "advisor/report.h"
#include "common/result.h"

namespace topdog::advisor {

// Fails (kUnavailable) when gnuplot cannot be run or fails; the message says why.
Result<std::string> RenderHtmlReport(const BacktestResult& result, const ReportInfo& info);

}  // namespace topdog::advisor

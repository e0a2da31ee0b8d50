// The backtest report: report.json (the shape other tools read, see README), report.md (a table people
// read) and the data behind the plots. Pure text functions; thread-safe.
#pragma once

#include <string>

#include "advisor/core/backtest.h"

namespace topdog::advisor {

struct ReportInfo {
  std::string trace;       // the trace's path as given
  double run_seconds = 0;  // wall time of the backtest
};

std::string ReportJson(const BacktestResult& result, const ReportInfo& info);
std::string ReportMarkdown(const BacktestResult& result, const ReportInfo& info);

// Whitespace-separated columns for gnuplot: the cost/overload points of every arm ("arm target quantile
// replica_minutes overload_minutes"), and the demand and ready capacity of the plotted arms (HPA at 70%, the
// advisor point nearest its cost, seasonal naive at 70%, the oracle) averaged over `bucket_minutes`, against
// days of scored time (unscored rows are left out, so an outage does not show as a gap).
std::string FrontierData(const BacktestResult& result);
std::string TimelineData(const BacktestResult& result, int bucket_minutes);

// The advisor arm plotted next to the HPA at 70%: the cheapest advisor point whose cost is at least the
// HPA's (or the most expensive one); -1 when there is none.
int PlottedAdvisorArm(const BacktestResult& result);

}  // namespace topdog::advisor

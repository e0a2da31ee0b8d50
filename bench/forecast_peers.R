# R forecast-package peers for bench/forecast_bench.py: ets, stlf (STL + ETS) and tbats, fitted one job after
# another in this one process so R's start-up (about 1 s to load forecast) is paid once per batch.
# Usage: Rscript bench/forecast_peers.R JOBS.tsv RESULTS.tsv
#   JOBS.tsv, tab-separated with header: id method history m h periods out
#     history: file with one value per line, oldest first; m: one day in steps; h: horizon in steps;
#     periods: comma-separated seasonal periods in steps for stlf/tbats (m, and 7m when the history holds
#     two weeks); out: CSV written for the job, columns q0.5,q0.9,q0.95.
#   RESULTS.tsv gets one line per finished job: id status cpu_s model warnings error.
# Each line is appended as soon as its job ends, so a crash or a CPU-limit kill loses only the job it was on.
# CPU is user+system time of this process around fit+forecast (proc.time), start-up excluded.
# Quantiles: q0.5 is the point forecast; q0.9 and q0.95 are the upper bounds of the 80 % and 90 % intervals.
suppressPackageStartupMessages(library(forecast))
set.seed(1)

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) {
  cat("usage: Rscript forecast_peers.R JOBS.tsv RESULTS.tsv\n", file = stderr())
  quit(status = 2)
}
jobs <- read.delim(args[1], colClasses = "character")
results_path <- args[2]

OneLine <- function(s) gsub("[\t\r\n]+", " ", paste(s, collapse = " | "))

FitAndForecast <- function(method, y, m, h, periods) {
  # ets() refuses frequency > 24 and then fits a non-seasonal model (it warns; the warning is recorded).
  seasonal <- if (length(periods) > 1) msts(y, seasonal.periods = periods) else ts(y, frequency = m)
  switch(method,
    ets = forecast(ets(ts(y, frequency = m)), h = h, level = c(80, 90)),
    stlf = stlf(seasonal, h = h, level = c(80, 90)),
    # use.parallel = FALSE: one core, and all CPU stays in this process where proc.time() sees it.
    tbats = forecast(tbats(seasonal, use.parallel = FALSE), h = h, level = c(80, 90)),
    stop("unknown method '", method, "'"))
}

for (i in seq_len(nrow(jobs))) {
  job <- jobs[i, ]
  warnings <- character(0)
  status <- "ok"
  error <- ""
  model <- ""
  t0 <- proc.time()
  fc <- tryCatch(
    withCallingHandlers({
      y <- scan(job$history, quiet = TRUE)
      FitAndForecast(job$method, y, as.integer(job$m), as.integer(job$h),
                     as.numeric(strsplit(job$periods, ",")[[1]]))
    }, warning = function(w) {
      warnings <<- c(warnings, conditionMessage(w))
      invokeRestart("muffleWarning")
    }),
    error = function(e) e)
  used <- proc.time() - t0
  cpu_s <- used[["user.self"]] + used[["sys.self"]]
  if (inherits(fc, "error")) {
    status <- "error"
    error <- conditionMessage(fc)
  } else {
    model <- fc$method
    out <- data.frame(q0.5 = as.numeric(fc$mean), q0.9 = as.numeric(fc$upper[, "80%"]),
                      q0.95 = as.numeric(fc$upper[, "90%"]), check.names = FALSE)
    write.csv(out, job$out, row.names = FALSE)
  }
  cat(paste(job$id, status, sprintf("%.4f", cpu_s), OneLine(model), OneLine(unique(warnings)), OneLine(error),
            sep = "\t"), "\n", sep = "", file = results_path, append = TRUE)
}

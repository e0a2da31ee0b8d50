// The label and annotation templates of alerting rules: a pure subset of Go's text/template (Go 1.19) with the
// functions of Prometheus 2.42 (template/template.go), byte-identical to Prometheus for what it supports and
// refused by Parse, with the reason, for what it does not. Thread-safe: a parsed AlertTemplate is immutable.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace topdog::advisor {

// What a rule's templates see: $labels / .Labels, $externalLabels / .ExternalLabels, $externalURL / .ExternalURL
// (also the externalURL and pathPrefix functions), $value / .Value.
struct AlertTemplateData {
  const std::map<std::string, std::string>* labels = nullptr;           // never null when expanding
  const std::map<std::string, std::string>* external_labels = nullptr;  // never null when expanding
  // As Prometheus hands it to templates: --web.external-url without its trailing slash, e.g.
  // "http://prom.example.com:9090/sub/path". externalURL prints it as is, pathPrefix prints its path.
  std::string_view external_url;
  double value = 0;
};

// Bounds on one expansion (Prometheus has none): an expansion that would exceed one fails with an Error
// saying so, so a hostile or runaway template costs bounded time and memory.
inline constexpr size_t kAlertTemplateMaxOutputBytes = 1 << 20;      // also bounds every intermediate string
inline constexpr size_t kAlertTemplateMaxRangeIterations = 100'000;  // all {{range}} iterations together
// Evaluated nodes; one step per 256 bytes of each value a command produces or a variable hands out (so copying
// large strings around is bounded too); for regular expressions, one per 256 bytes of each pattern compiled and,
// for each RE2 search, one plus one per 256 bytes of the text from where it starts to the end (RE2 runs in time
// linear in the text it reads, for a program bounded by kAlertTemplateMaxRegexpMemory).
inline constexpr size_t kAlertTemplateMaxSteps = 1'000'000;
// Bounds on Parse: deeper nesting of actions and of a regular expression's groups is refused as unsupported.
inline constexpr size_t kAlertTemplateMaxNesting = 100;
// RE2's max_mem for each regular expression (its compiled program and match caches): a pattern that does not
// compile within it, or is longer than kAlertTemplateMaxRegexpBytes (RE2, like Go, parses some patterns in time
// quadratic in their length), is refused as unsupported (by Parse for a literal pattern). An expansion keeps at
// most 8 compiled at a time.
inline constexpr size_t kAlertTemplateMaxRegexpMemory = 4 << 20;
inline constexpr size_t kAlertTemplateMaxRegexpBytes = 64 << 10;

// Supported, as in Prometheus (Go text/template with Option("missingkey=zero"), so $labels.missing is ""):
// text, {{ }} actions with trim markers {{- -}}, comments; pipelines; variables ($labels, $value,
// $externalLabels, $externalURL, $, := and =); fields (.Labels.job, $labels.job, (pipeline).field); string
// (with Go escapes), raw string, character, integer and float literals, true, false, nil; if / else if / else,
// with / else, range / else over maps (sorted keys) with break and continue; the builtins and, or, not, len,
// index, slice, eq, ne, lt, le, gt, ge (Go's comparison rules), print, printf, println (Go's fmt verbs,
// flags, width, precision, argument indexes and %!verb(type=value) errors), html, js, urlquery, call; and
// Prometheus's humanize, humanize1024, humanizeDuration, humanizePercentage, humanizeTimestamp, toTime,
// title, toUpper, toLower, reReplaceAll, match, stripPort, stripDomain, safeHtml, pathPrefix, externalURL,
// parseDuration, args, graphLink, tableLink. Regular expressions are Go's regexp syntax and semantics, run by
// RE2 (which Go's regexp is a port of), with Unicode classes (\pL, \p{Greek}) and case folding (?i).
//
// Refused by Parse: query, first, label, value, strvalue, sortByLabel (they need a query engine); named
// templates (define, template, block); complex numbers; non-ASCII identifiers; regular-expression literals over
// the bounds above.
//
// Runtime errors where Prometheus would print text: method calls on toTime's result ((toTime 1).Unix); printing
// a time held in args' map with a verb its String method does not serve (Go prints an address); case mapping
// (toUpper, toLower, title) and quoting (%q, %#U, js) of non-ASCII runes outside the ranges this file has
// Unicode tables for (case: Latin-1, Latin Extended-A, Greek, Cyrillic and caseless blocks such as CJK;
// printable: those plus a few symbol blocks); matching a regular expression that needs Unicode tables (\p
// classes, case folding of non-ASCII runes) against a rune on which Go 1.19's Unicode 13.0 tables and RE2's
// Unicode 15.0 tables differ (runes new in Unicode 14 and 15), or such a rune in a $name of a reReplaceAll
// replacement; outputs over the bounds above. Errors name what is unsupported.
//
// Not byte-identical to Prometheus: the texts of some parse errors (Go adds " in action started at ..." for
// actions spanning lines; Go reports only the line where we give a column).
class AlertTemplate {
 public:
  // kBadData "column N: reason" (1-based byte column in `text`) for syntax errors and unsupported functions or
  // actions. The reason is Go's parse error where Go refuses the template too.
  static Result<AlertTemplate> Parse(std::string_view text);

  // The expansion; an Error for runtime failures (e.g. a function given the wrong type), with message
  // "column N: at <node>: reason" as Go reports it (see PrometheusErrorText).
  Result<std::string> Expand(const AlertTemplateData& data) const;

  // Prometheus's text for an annotation or label whose expansion failed with `error` (an Expand error of this
  // template) in the alerting rule `rule_name`: "<error expanding template: error executing template
  // __alert_NAME: template: __alert_NAME:LINE:COL: executing "__alert_NAME" at <node>: reason>".
  std::string PrometheusErrorText(std::string_view rule_name, const Error& error) const;

  bool has_actions() const;  // false when Expand returns the text unchanged (a fast path: no expansion needed)
  const std::string& text() const;

  struct Tree;  // the parsed template (private to alert_template.cc)

 private:
  explicit AlertTemplate(std::shared_ptr<const Tree> tree) : tree_(std::move(tree)) {}
  std::shared_ptr<const Tree> tree_;
};

// Go's %v of a float64 (strconv.FormatFloat(v, 'g', -1, 64)): "1", "0.1", "1e+06", "1.234567e+06", "-0", "NaN",
// "+Inf", "-Inf".
std::string GoFormatFloat(double v);

// Go's url.QueryEscape (a space becomes '+'): the urlquery function, and Prometheus's links.
std::string GoQueryEscape(std::string_view text);
// Prometheus's strutil.TableLinkForExpression: "/graph?g0.expr=<escaped>&g0.tab=1" (tableLink, generatorURL).
std::string TableLinkForExpression(std::string_view expr);

}  // namespace topdog::advisor

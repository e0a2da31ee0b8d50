#include "common/exposition/text_writer.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace topdog::exposition {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

void AppendEscaped(std::string& out, std::string_view s, bool escape_quote) {
  // Most values need no escaping: copy runs of plain characters in one append.
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c != '\\' && c != '\n' && !(c == '"' && escape_quote)) continue;
    out.append(s.data() + start, i - start);
    out += c == '\n' ? "\\n" : c == '\\' ? "\\\\" : "\\\"";
    start = i + 1;
  }
  out.append(s.data() + start, s.size() - start);
}

// OpenMetrics requires a float to look like one: Go's client appends ".0" to integral values.
void AppendOpenMetricsFloat(std::string& out, double value) {
  size_t start = out.size();
  AppendGoFloat(out, value);
  if (std::isfinite(value) && out.find_first_of(".e", start) == std::string::npos) out += ".0";
}

void AppendValue(std::string& out, double value, Format format) {
  if (format == Format::kOpenMetrics100) {
    AppendOpenMetricsFloat(out, value);
  } else {
    AppendGoFloat(out, value);
  }
}

// name{labels,extra_name="extra_value"} value\n
void AppendSample(std::string& out, std::string_view name, std::string_view suffix,
                  const std::vector<ClientMetric::Label>& labels, std::string_view extra_name,
                  std::string_view extra_value, double value, Format format) {
  out += name;
  out += suffix;
  if (!labels.empty() || !extra_name.empty()) {
    out += '{';
    bool first = true;
    for (const auto& label : labels) {
      if (!first) out += ',';
      first = false;
      out += label.name;
      out += "=\"";
      AppendEscaped(out, label.value, true);
      out += '"';
    }
    if (!extra_name.empty()) {
      if (!first) out += ',';
      out += extra_name;
      out += "=\"";
      out += extra_value;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  AppendValue(out, value, format);
  out += '\n';
}

std::string_view TypeName(MetricType type, Format format) {
  switch (type) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Summary: return "summary";
    case MetricType::Histogram: return "histogram";
    case MetricType::Untyped: return format == Format::kOpenMetrics100 ? "unknown" : "untyped";
    default: return "untyped";
  }
}

double SimpleValue(const MetricFamily& family, const ClientMetric& metric) {
  switch (family.type) {
    case MetricType::Counter: return metric.counter.value;
    case MetricType::Gauge: return metric.gauge.value;
    default: return metric.untyped.value;
  }
}

double ParseQuality(std::string_view params) {
  // params: ";version=1.0.0;q=0.5"
  size_t pos = 0;
  while ((pos = params.find(';', pos)) != std::string_view::npos) {
    ++pos;
    while (pos < params.size() && params[pos] == ' ') ++pos;
    if (params.substr(pos, 2) == "q=") {
      std::string q(params.substr(pos + 2, params.find(';', pos) - pos - 2));
      char* end = nullptr;
      double v = std::strtod(q.c_str(), &end);
      return end == q.c_str() ? 1.0 : v;
    }
  }
  return 1.0;
}

}  // namespace

std::string_view ContentType(Format format) {
  return format == Format::kOpenMetrics100 ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                                           : "text/plain; version=0.0.4; charset=utf-8";
}

Format NegotiateFormat(std::string_view accept) {
  double best_om = -1, best_text = -1;
  size_t start = 0;
  while (start <= accept.size()) {
    size_t end = accept.find(',', start);
    if (end == std::string_view::npos) end = accept.size();
    std::string_view part = accept.substr(start, end - start);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    size_t semi = part.find(';');
    std::string_view media = part.substr(0, semi);
    while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
    double q = semi == std::string_view::npos ? 1.0 : ParseQuality(part.substr(semi));
    if (media == "application/openmetrics-text") {
      best_om = std::max(best_om, q);
    } else if (media == "text/plain" || media == "*/*" || media == "text/*") {
      best_text = std::max(best_text, q);
    }
    start = end + 1;
  }
  return best_om > 0 && best_om >= best_text ? Format::kOpenMetrics100 : Format::kText004;
}

void AppendGoFloat(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  if (value == 0) {  // expfmt writes both zeros as "0"
    out += '0';
    return;
  }
  char buf[40];
  // Fast path for integral values below 2^53 (most counters): their shortest round-trip digits are the
  // integer's digits without trailing zeros, so no floating-point formatting is needed.
  if (std::fabs(value) < 9007199254740992.0 && value == std::trunc(value)) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(value));
    const char* digits = buf[0] == '-' ? buf + 1 : buf;
    int exponent = static_cast<int>(end - digits) - 1;
    if (exponent < 6) {
      out.append(buf, end);
      return;
    }
    const char* last = end;
    while (last > digits + 1 && last[-1] == '0') --last;
    out.append(static_cast<const char*>(buf), digits + 1);  // sign and first digit
    if (last > digits + 1) {
      out += '.';
      out.append(digits + 1, last);
    }
    out += "e+";
    if (exponent < 10) out += '0';
    char exp_buf[4];
    auto [exp_end, exp_ec] = std::to_chars(exp_buf, exp_buf + sizeof exp_buf, exponent);
    out.append(exp_buf, exp_end);
    return;
  }
  // Go's 'g' with shortest precision (strconv/ftoa.go) uses %e when the decimal exponent is < -4 or
  // >= 6, else %f, in both cases with the shortest digits that round-trip.
  auto [sci_end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  const char* e = static_cast<const char*>(std::memchr(buf, 'e', sci_end - buf));
  int exp = 0;
  // The buffer is not NUL-terminated: parse the exponent within [e+1, sci_end) only ("+05" -> 5).
  std::from_chars(e + (e[1] == '+' ? 2 : 1), sci_end, exp);
  if (exp < -4 || exp >= 6) {
    out.append(buf, sci_end);
    return;
  }
  auto [fix_end, ec2] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed);
  out.append(buf, fix_end);
}

void AppendFamilies(std::string& out, const std::vector<MetricFamily>& families, Format format) {
  for (const auto& family : families) AppendFamily(out, family, format);
}

void AppendFamily(std::string& out, const MetricFamily& family, Format format) {
  const bool om = format == Format::kOpenMetrics100;
  {
    if (family.metric.empty()) return;
    std::string_view name = family.name;
    std::string_view sample_suffix;
    std::string_view type_name = TypeName(family.type, format);
    if (om && family.type == MetricType::Counter) {
      if (name.size() > 6 && name.substr(name.size() - 6) == "_total") {
        // OpenMetrics: the family is named without _total, its samples carry it.
        name.remove_suffix(6);
        sample_suffix = "_total";
      } else {
        // A counter named without _total (nginx-prometheus-exporter's nginx_connections_accepted, Envoy's
        // envoy_cluster_upstream_rq) would be stored as <name>_total by Prometheus, unlike from the text format
        // (and Envoy's envoy_cluster_upstream_rq would collide with its own ..._rq_total): written as unknown
        // under its own name, it keeps the name it has everywhere else.
        type_name = "unknown";
      }
    }
    out += "# HELP ";
    out += name;
    out += ' ';
    AppendEscaped(out, family.help, om);
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type_name;
    out += '\n';
    for (const auto& metric : family.metric) {
      switch (family.type) {
        case MetricType::Summary: {
          for (const auto& q : metric.summary.quantile) {
            std::string qs;
            AppendValue(qs, q.quantile, format);
            AppendSample(out, name, "", metric.label, "quantile", qs, q.value, format);
          }
          AppendSample(out, name, "_sum", metric.label, "", "", metric.summary.sample_sum, format);
          AppendSample(out, name, "_count", metric.label, "", "",
                       static_cast<double>(metric.summary.sample_count), format);
          break;
        }
        case MetricType::Histogram: {
          bool has_inf = false;
          for (const auto& b : metric.histogram.bucket) {
            std::string le;
            AppendValue(le, b.upper_bound, format);
            has_inf = has_inf || std::isinf(b.upper_bound);
            AppendSample(out, name, "_bucket", metric.label, "le", le,
                         static_cast<double>(b.cumulative_count), format);
          }
          if (!has_inf) {
            AppendSample(out, name, "_bucket", metric.label, "le", "+Inf",
                         static_cast<double>(metric.histogram.sample_count), format);
          }
          AppendSample(out, name, "_sum", metric.label, "", "", metric.histogram.sample_sum, format);
          AppendSample(out, name, "_count", metric.label, "", "",
                       static_cast<double>(metric.histogram.sample_count), format);
          break;
        }
        default:
          AppendSample(out, name, sample_suffix, metric.label, "", "", SimpleValue(family, metric), format);
      }
    }
  }
}

void FinishOpenMetrics(std::string& out) { out += "# EOF\n"; }

namespace {
bool IsNameChar(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}
}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsNameChar(name[i], i == 0, true)) return false;
  }
  return true;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsNameChar(name[i], i == 0, false)) return false;
  }
  return true;
}

// Hand-written because it runs on every label value of every scrape and the ASCII fast path matters; the
// rules are RFC 3629's (no overlongs, no surrogates, nothing above U+10FFFF), as Go's utf8.ValidString.
bool IsValidUtf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size(), i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (i + len > n) return false;
    if (s[i + 1] < lo || s[i + 1] > hi) return false;
    for (size_t k = 2; k < len; ++k) {
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return false;
    }
    i += len;
  }
  return true;
}

std::string FindInvalid(const std::vector<MetricFamily>& families) {
  for (const auto& family : families) {
    if (!IsValidMetricName(family.name)) return "invalid metric name \"" + family.name + "\"";
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (!IsValidLabelName(label.name)) return family.name + ": invalid label name \"" + label.name + "\"";
        if (!IsValidUtf8(label.value)) {
          return family.name + ": label " + label.name + " has a value that is not valid UTF-8";
        }
      }
    }
  }
  return "";
}

}  // namespace topdog::exposition

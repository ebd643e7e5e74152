// core/trace/filter.cpp — ftrace's glob filters (set_ftrace_filter / set_ftrace_notrace / set_graph_function).
//
// A glob is matched as ftrace does (kernel/trace/ftrace.c, filter_parse_regex): "abc*" prefix, "*abc" suffix,
// "*abc*" substring, "a*b" prefix and suffix, anything else an exact name. A list is comma-separated; "!glob" removes
// what it matches from the set (as `echo '!glob' >> set_ftrace_filter`). A list holding only removals starts from
// every name. The tracer caches the decision per name, so these run once per distinct name and session.
#include <string>
#include <string_view>

#include "core/trace/trace.h"

namespace nabla::trace {

bool glob_match(std::string_view p, std::string_view name) {
    const size_t first = p.find('*');
    if (first == std::string_view::npos) return p == name;
    const size_t last = p.rfind('*');
    const std::string_view head = p.substr(0, first);
    const std::string_view tail = p.substr(last + 1);
    const std::string_view middle = first < last ? p.substr(first + 1, last - first - 1) : std::string_view{};
    if (name.size() < head.size() + tail.size()) return false;
    if (name.substr(0, head.size()) != head || name.substr(name.size() - tail.size()) != tail) return false;
    if (middle.empty()) return true;
    // "*abc*" (or "a*bc*d"): the middle must appear between the head and the tail.
    const std::string_view inner = name.substr(head.size(), name.size() - head.size() - tail.size());
    return inner.find(middle) != std::string_view::npos;
}

bool filter_match(const std::string& list, std::string_view name) {
    bool any_positive = false, any_removal = false, matched = false;
    size_t b = 0;
    while (b <= list.size()) {
        size_t e = list.find(',', b);
        if (e == std::string::npos) e = list.size();
        std::string_view glob = std::string_view(list).substr(b, e - b);
        while (!glob.empty() && glob.front() == ' ') glob.remove_prefix(1);
        while (!glob.empty() && glob.back() == ' ') glob.remove_suffix(1);
        b = e + 1;
        if (glob.empty()) continue;
        if (glob.front() == '!') {
            any_removal = true;
            if (glob_match(glob.substr(1), name)) return false;  // a removal wins over any positive glob
            continue;
        }
        any_positive = true;
        if (glob_match(glob, name)) matched = true;
    }
    return any_positive ? matched : any_removal;
}

}  // namespace nabla::trace

// UriTemplate: parses RFC 6570 templates into a Thompson NFA and simulates it over topics.
//
// Why an NFA: a selector comes from a client (query string, token claim), so matching must
// stay O(topic length x program size) whatever it holds. The template is parsed once into a
// flat program of byte / byte-class instructions plus split, jump and match, and matching
// runs every live thread in lock step over a sparse state set (Pike's simulation): no
// recursion, no backtracking, no allocation once the thread's scratch sets have grown.
//
// What an expression may expand to (RFC 6570 section 3.2 and appendix A), per operator
// `first` / `sep` / named / allowed characters:
//   ""  "" ","  no  U        "+" "" ","  no  U+R      "#" "#" ","  no  U+R
//   "." "." "." no  U        "/" "/" "/" no  U        ";" ";" ";"  yes U
//   "?" "?" "&" yes U        "&" "&" "&" yes U
// Undefined variables vanish with their separator; the first defined one is preceded by
// `first`, the others by `sep`. A value is a run of allowed bytes and %XX triplets; lists and
// maps join members with "," (or `sep` plus "k=v" items when exploded); named operators put
// "name=" before the value, ";" dropping "=" for an empty one. The matcher accepts a small
// superset: the key of an exploded item is any value, not only the variable's name.
#include "core/uri_template.hpp"

#include <array>
#include <cstdint>
#include <new>
#include <utility>
#include <vector>

namespace mercure {

namespace {

// Bounds that keep a hostile template from costing memory or time on every publish.
constexpr std::size_t kMaxTemplateBytes = 4096;
constexpr std::size_t kMaxInstructions = 1024;
// A prefix `{var:N}` is unrolled into N optional characters up to this N; a longer prefix
// matches any run (a superset), since unrolling it would exhaust the instruction budget.
constexpr unsigned kMaxPrefixUnroll = 16;

// Character class bits of kCharClass.
constexpr std::uint8_t kUnreserved = 1;
constexpr std::uint8_t kReserved = 2;
constexpr std::uint8_t kHex = 4;
constexpr std::uint8_t kVarchar = 8;
constexpr std::uint8_t kComma = 16;

// Builds the byte -> class bits table at compile time.
constexpr std::array<std::uint8_t, 256> make_char_classes()
{
    std::array<std::uint8_t, 256> t{};
    for (int c = 0; c < 256; ++c) {
        const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        const bool digit = c >= '0' && c <= '9';
        std::uint8_t bits = 0;
        if (alpha || digit || c == '-' || c == '.' || c == '_' || c == '~')
            bits |= kUnreserved;
        if (digit || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f'))
            bits |= kHex;
        if (alpha || digit || c == '_')
            bits |= kVarchar;
        t[static_cast<std::size_t>(c)] = bits;
    }
    for (const char c : std::string_view(":/?#[]@!$&'()*+,;="))
        t[static_cast<unsigned char>(c)] |= kReserved;
    t[','] |= kComma;
    return t;
}

constexpr std::array<std::uint8_t, 256> kCharClass = make_char_classes();

// True when byte `c` belongs to one of the classes in `mask`.
constexpr bool in_class(char c, std::uint8_t mask)
{
    return (kCharClass[static_cast<unsigned char>(c)] & mask) != 0;
}

enum class Op : std::uint8_t { byte, cls, split, jmp, match };

// One NFA instruction; byte and cls fall through to the next instruction on a match.
struct Inst {
    Op op;
    std::uint8_t arg;  // the byte for `byte`, the class mask for `cls`
    std::uint32_t x;   // target of `jmp`, first target of `split`
    std::uint32_t y;   // second target of `split`
};

// One RFC 6570 operator's expansion rules (appendix A).
struct Operator {
    std::string_view first;
    char sep;
    bool named;
    bool empty_keeps_equals;  // ifemp "=": "?x=" rather than ";x"
    std::uint8_t allow;
};

// Returns the rules of operator character `c`; `c` == 0 is simple string expansion.
Operator operator_rules(char c)
{
    const std::uint8_t u = kUnreserved;
    const std::uint8_t ur = kUnreserved | kReserved;
    switch (c) {
    case '+': return {"", ',', false, false, ur};
    case '#': return {"#", ',', false, false, ur};
    case '.': return {".", '.', false, false, u};
    case '/': return {"/", '/', false, false, u};
    case ';': return {";", ';', true, false, u};
    case '?': return {"?", '&', true, true, u};
    case '&': return {"&", '&', true, true, u};
    default: return {"", ',', false, false, u};
    }
}

// A parsed varspec: name, and either a prefix length or the explode flag.
struct VarSpec {
    std::string_view name;
    unsigned prefix = 0;  // 0: no prefix modifier
    bool explode = false;
};

// Assembles instructions whose jump targets are symbolic labels, resolved by finish().
class ProgramBuilder {
public:
    // Returns a fresh, unbound label.
    std::uint32_t label()
    {
        labels_.push_back(kUnbound);
        return static_cast<std::uint32_t>(labels_.size() - 1);
    }

    // Points `l` at the next instruction to be emitted.
    void bind(std::uint32_t l) { labels_[l] = static_cast<std::uint32_t>(code_.size()); }

    // Emitters of one instruction each; targets are labels.
    void byte(char c) { emit({Op::byte, static_cast<std::uint8_t>(c), 0, 0}); }
    void cls(std::uint8_t mask) { emit({Op::cls, mask, 0, 0}); }
    void split(std::uint32_t a, std::uint32_t b) { emit({Op::split, 0, a, b}); }
    void jmp(std::uint32_t l) { emit({Op::jmp, 0, l, 0}); }
    void match() { emit({Op::match, 0, 0, 0}); }

    // Emits literal bytes.
    void literal(std::string_view s)
    {
        for (const char c : s)
            byte(c);
    }

    // True when the program outgrew kMaxInstructions and must be refused.
    bool overflowed() const { return overflowed_; }

    // Replaces labels by instruction indexes; false when over budget.
    bool finish(std::vector<Inst>& out)
    {
        if (overflowed_)
            return false;
        for (Inst& i : code_) {
            if (i.op == Op::split || i.op == Op::jmp)
                i.x = labels_[i.x];
            if (i.op == Op::split)
                i.y = labels_[i.y];
            // An unbound label would be a builder bug; refuse rather than run wild.
            if ((i.op == Op::split || i.op == Op::jmp) &&
                (i.x >= code_.size() || i.y >= code_.size()))
                return false;
        }
        out = std::move(code_);
        return true;
    }

private:
    static constexpr std::uint32_t kUnbound = UINT32_MAX;

    // Appends `i`, or records the overflow so that the build stops growing.
    void emit(Inst i)
    {
        if (code_.size() >= kMaxInstructions) {
            overflowed_ = true;
            return;
        }
        code_.push_back(i);
    }

    std::vector<Inst> code_;
    std::vector<std::uint32_t> labels_;
    bool overflowed_ = false;
};

// Emits one pct-encoded triplet %XX.
void emit_pct(ProgramBuilder& b)
{
    b.byte('%');
    b.cls(kHex);
    b.cls(kHex);
}

// Emits (allowed byte | %XX)*: any string value once encoded.
void emit_run(ProgramBuilder& b, std::uint8_t allow)
{
    const auto loop = b.label(), chr = b.label(), alt = b.label(), pct = b.label(),
               end = b.label();
    b.bind(loop);
    b.split(chr, alt);
    b.bind(chr);
    b.cls(allow);
    b.jmp(loop);
    b.bind(alt);
    b.split(pct, end);
    b.bind(pct);
    emit_pct(b);
    b.jmp(loop);
    b.bind(end);
}

// Emits a string, list or map value without explode: members joined by ",". Since a
// member may be empty, run ("," run)* is exactly a run that also allows ",".
void emit_list(ProgramBuilder& b, std::uint8_t allow)
{
    emit_run(b, allow | kComma);
}

// Emits one exploded item: a list member, a "key=value" pair or a named "name[=value]";
// "?" and "&" always write the "=" (their ifemp), the others may not.
void emit_item(ProgramBuilder& b, const Operator& op)
{
    const std::uint8_t allow = op.allow;
    emit_run(b, allow);
    if (in_class('=', allow))
        return;
    if (op.empty_keeps_equals) {
        b.byte('=');
        emit_run(b, allow);
        return;
    }
    const auto eq = b.label(), end = b.label();
    b.split(eq, end);
    b.bind(eq);
    b.byte('=');
    emit_run(b, allow);
    b.bind(end);
}

// Emits an exploded list or map: items joined by the operator's separator.
void emit_explode(ProgramBuilder& b, const Operator& op)
{
    if (in_class('=', op.allow) && in_class(op.sep, op.allow)) {
        emit_run(b, op.allow);
        return;
    }
    emit_item(b, op);
    const auto loop = b.label(), more = b.label(), end = b.label();
    b.bind(loop);
    b.split(more, end);
    b.bind(more);
    b.byte(op.sep);
    emit_item(b, op);
    b.jmp(loop);
    b.bind(end);
}

// Emits one character of a prefix: an allowed byte, or a UTF-8 character as 1-4 triplets.
void emit_prefix_char(ProgramBuilder& b, std::uint8_t allow)
{
    const auto chr = b.label(), pct = b.label(), end = b.label();
    b.split(chr, pct);
    b.bind(chr);
    b.cls(allow);
    b.jmp(end);
    b.bind(pct);
    emit_pct(b);
    for (int i = 0; i < 3; ++i) {
        const auto next = b.label();
        b.split(end, next);
        b.bind(next);
        emit_pct(b);
    }
    b.bind(end);
}

// Emits at most `n` characters of a string value (the `:n` modifier).
void emit_prefix(ProgramBuilder& b, std::uint8_t allow, unsigned n)
{
    if (n > kMaxPrefixUnroll) {
        emit_run(b, allow);
        return;
    }
    const auto end = b.label();
    for (unsigned i = 0; i < n && !b.overflowed(); ++i) {
        const auto take = b.label();
        b.split(take, end);
        b.bind(take);
        emit_prefix_char(b, allow);
    }
    b.bind(end);
}

// Emits the value of a variable without explode: a prefixed string or any value.
void emit_value(ProgramBuilder& b, const Operator& op, const VarSpec& v)
{
    if (v.prefix != 0)
        emit_prefix(b, op.allow, v.prefix);
    else
        emit_list(b, op.allow);
}

// Emits everything one defined variable may expand to, separator excluded.
void emit_var(ProgramBuilder& b, const Operator& op, const VarSpec& v)
{
    if (v.explode) {
        emit_explode(b, op);
        return;
    }
    if (!op.named) {
        emit_value(b, op, v);
        return;
    }
    b.literal(v.name);
    if (op.empty_keeps_equals) {
        b.byte('=');
        emit_value(b, op, v);
        return;
    }
    const auto eq = b.label(), end = b.label();
    b.split(eq, end);
    b.bind(eq);
    b.byte('=');
    emit_value(b, op, v);
    b.bind(end);
}

// Emits an expression: any ordered subset of its variables, the first one preceded by
// `first`, the others by `sep`. Two tracks per variable: "none emitted yet" (a) and
// "something emitted" (c); both share the variable's code, which always continues on c.
void emit_expression(ProgramBuilder& b, const Operator& op, const std::vector<VarSpec>& vars)
{
    std::uint32_t none = b.label(), some = b.label();
    for (std::size_t i = 0; i < vars.size(); ++i) {
        const auto next_none = b.label(), next_some = b.label();
        const auto with_first = b.label(), body = b.label();
        b.bind(none);
        b.split(next_none, op.first.empty() ? body : with_first);
        if (!op.first.empty()) {
            b.bind(with_first);
            b.literal(op.first);
            b.jmp(body);
        }
        if (i > 0) {  // before the first variable nothing can have been emitted
            const auto with_sep = b.label();
            b.bind(some);
            b.split(next_some, with_sep);
            b.bind(with_sep);
            b.byte(op.sep);
        }
        b.bind(body);
        emit_var(b, op, vars[i]);
        if (i + 1 < vars.size())
            b.jmp(next_some);
        none = next_none;
        some = next_some;
    }
    // The last body falls through to where the paths that skipped the last variable land.
    b.bind(none);
    b.bind(some);
}

// True when `s[i]` starts a varchar (ALPHA / DIGIT / "_" / pct-encoded); advances `i`.
bool take_varchar(std::string_view s, std::size_t& i)
{
    if (i < s.size() && in_class(s[i], kVarchar)) {
        ++i;
        return true;
    }
    if (i + 2 < s.size() && s[i] == '%' && in_class(s[i + 1], kHex) && in_class(s[i + 2], kHex)) {
        i += 3;
        return true;
    }
    return false;
}

// Parses a varname at `i`; the dots must sit between varchars.
bool take_varname(std::string_view s, std::size_t& i)
{
    if (!take_varchar(s, i))
        return false;
    for (;;) {
        if (take_varchar(s, i))
            continue;
        if (i < s.size() && s[i] == '.') {
            ++i;
            if (!take_varchar(s, i))
                return false;
            continue;
        }
        return true;
    }
}

// Parses a max-length (1-9999, no leading zero) at `i`.
bool take_max_length(std::string_view s, std::size_t& i, unsigned& n)
{
    if (i >= s.size() || s[i] < '1' || s[i] > '9')
        return false;
    n = 0;
    for (int digits = 0; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++digits, ++i) {
        if (digits == 4)
            return false;
        n = n * 10 + static_cast<unsigned>(s[i] - '0');
    }
    return true;
}

// Parses one varspec, which must span all of `s`.
bool parse_varspec(std::string_view s, VarSpec& v)
{
    std::size_t i = 0;
    if (!take_varname(s, i))
        return false;
    v.name = s.substr(0, i);
    if (i < s.size() && s[i] == '*') {
        v.explode = true;
        ++i;
    } else if (i < s.size() && s[i] == ':') {
        ++i;
        if (!take_max_length(s, i, v.prefix))
            return false;
    }
    return i == s.size();
}

// Parses an expression body (between the braces) into its operator and varspecs.
bool parse_expression(std::string_view body, char& op, std::vector<VarSpec>& vars)
{
    op = 0;
    if (!body.empty() && std::string_view("+#./;?&").find(body[0]) != std::string_view::npos) {
        op = body[0];
        body.remove_prefix(1);
    }
    vars.clear();
    for (;;) {
        const std::size_t comma = body.find(',');
        VarSpec v;
        if (!parse_varspec(body.substr(0, comma), v))
            return false;
        vars.push_back(v);
        if (comma == std::string_view::npos)
            return true;
        body.remove_prefix(comma + 1);
    }
}

// A sparse set of instruction indexes: O(1) insert, membership and clear.
struct StateSet {
    std::vector<std::uint32_t> dense;
    std::vector<std::uint32_t> sparse;
    std::uint32_t size = 0;

    // Empties the set and makes room for `n` instructions.
    void reset(std::size_t n)
    {
        if (dense.size() < n) {
            dense.resize(n);
            sparse.resize(n);
        }
        size = 0;
    }

    // True when `pc` was inserted since the last reset; stale slots fail the cross-check.
    bool contains(std::uint32_t pc) const
    {
        const std::uint32_t i = sparse[pc];
        return i < size && dense[i] == pc;
    }

    // Adds `pc`, which must not be in the set yet.
    void insert(std::uint32_t pc)
    {
        sparse[pc] = size;
        dense[size++] = pc;
    }
};

// Per-thread buffers reused by every match, so the hot path does not allocate.
struct MatchScratch {
    StateSet current;
    StateSet next;
    std::vector<std::uint32_t> stack;
};

// Returns this thread's scratch buffers.
MatchScratch& match_scratch()
{
    thread_local MatchScratch scratch;
    return scratch;
}

} // namespace

// The compiled form of a template: its literal prefix and the NFA for the rest.
class UriTemplateProgram {
public:
    // Parses and compiles `text`; false when it is not a template or is too big.
    bool compile(std::string_view text);

    // Runs the NFA over `topic`.
    bool matches(std::string_view topic) const;

    // The literal text before the first expression.
    std::string_view prefix() const { return prefix_; }

private:
    bool compile_rest(std::string_view rest);
    void add_state(StateSet& set, std::vector<std::uint32_t>& stack, std::uint32_t pc) const;

    std::string prefix_;
    std::vector<Inst> code_;
};

bool UriTemplateProgram::compile(std::string_view text)
{
    if (text.size() > kMaxTemplateBytes)
        return false;
    const std::size_t open = text.find('{');
    if (open == std::string_view::npos)
        return false;
    const std::string_view head = text.substr(0, open);
    if (head.find('}') != std::string_view::npos)
        return false;
    prefix_.assign(head);
    return compile_rest(text.substr(open));
}

// Compiles the text from the first "{" on: literals byte by byte, expressions as NFAs.
bool UriTemplateProgram::compile_rest(std::string_view rest)
{
    ProgramBuilder b;
    std::vector<VarSpec> vars;
    std::size_t i = 0;
    while (i < rest.size() && !b.overflowed()) {
        if (rest[i] == '}')
            return false;
        if (rest[i] != '{') {
            b.byte(rest[i++]);
            continue;
        }
        const std::size_t close = rest.find('}', i);
        if (close == std::string_view::npos)
            return false;
        char op = 0;
        if (!parse_expression(rest.substr(i + 1, close - i - 1), op, vars))
            return false;
        emit_expression(b, operator_rules(op), vars);
        i = close + 1;
    }
    b.match();
    return b.finish(code_);
}

// Adds `pc` and every state reachable from it through split / jmp, without recursion.
void UriTemplateProgram::add_state(StateSet& set, std::vector<std::uint32_t>& stack,
                                   std::uint32_t pc) const
{
    if (set.contains(pc))
        return;
    set.insert(pc);
    stack.clear();
    stack.push_back(pc);
    while (!stack.empty()) {
        const Inst& in = code_[stack.back()];
        stack.pop_back();
        if (in.op != Op::split && in.op != Op::jmp)
            continue;
        for (const std::uint32_t t : {in.x, in.y}) {
            if (!set.contains(t)) {
                set.insert(t);
                stack.push_back(t);
            }
            if (in.op == Op::jmp)
                break;
        }
    }
}

bool UriTemplateProgram::matches(std::string_view topic) const
{
    if (!topic.starts_with(prefix_))
        return false;
    topic.remove_prefix(prefix_.size());
    MatchScratch& s = match_scratch();
    s.current.reset(code_.size());
    s.next.reset(code_.size());
    // Each state enters the stack once per closure, so this keeps push_back from allocating.
    s.stack.reserve(code_.size());
    add_state(s.current, s.stack, 0);
    StateSet* cur = &s.current;
    StateSet* nxt = &s.next;
    for (const char c : topic) {
        nxt->size = 0;
        for (std::uint32_t k = 0; k < cur->size; ++k) {
            const std::uint32_t pc = cur->dense[k];
            const Inst& in = code_[pc];
            const bool ok = (in.op == Op::byte && static_cast<char>(in.arg) == c) ||
                            (in.op == Op::cls && in_class(c, in.arg));
            if (ok)
                add_state(*nxt, s.stack, pc + 1);
        }
        if (nxt->size == 0)
            return false;
        std::swap(cur, nxt);
    }
    return cur->contains(static_cast<std::uint32_t>(code_.size() - 1));
}

// Out of memory is the only exception here; it must not escape into a libevent callback, so
// a template that cannot be built stays a literal (it matches less, never more).
std::optional<UriTemplate> UriTemplate::compile(std::string_view text)
{
    try {
        auto program = std::make_unique<UriTemplateProgram>();
        if (!program->compile(text))
            return std::nullopt;
        return UriTemplate(std::move(program));
    } catch (const std::bad_alloc&) {
        return std::nullopt;
    }
}

// Only the first match on a thread allocates (its scratch sets); failing that fails closed.
bool UriTemplate::matches(std::string_view topic) const
{
    try {
        return program_ && program_->matches(topic);
    } catch (const std::bad_alloc&) {
        return false;
    }
}

std::string_view UriTemplate::literal_prefix() const
{
    return program_ ? program_->prefix() : std::string_view();
}

UriTemplate::UriTemplate(std::unique_ptr<UriTemplateProgram> program)
    : program_(std::move(program))
{
}

UriTemplate::UriTemplate(UriTemplate&&) noexcept = default;
UriTemplate& UriTemplate::operator=(UriTemplate&&) noexcept = default;
UriTemplate::~UriTemplate() = default;

} // namespace mercure

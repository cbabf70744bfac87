#!/usr/bin/env python3
"""Lists C# methods (constructors, local functions and operators included) longer than LIMIT lines, longest first.
Usage: /usr/bin/python3 tests/method-lengths.py 90 actuators core probes stream-processors cli schemas benchmarks
A heuristic, not a parser: comments and strings are blanked, then each member header `Name(...)` followed by `{` or
`=>` is measured from its first line to the matching `}` (or `;`). Issue 16: methods stay under 90 lines."""
import re, sys, os

def strip(src):
    out = []; i = 0; n = len(src)
    def blank(s): return ''.join('\n' if c == '\n' else ' ' for c in s)
    while i < n:
        c = src[i]
        if src.startswith('//', i):
            j = src.find('\n', i); j = n if j < 0 else j
            out.append(blank(src[i:j])); i = j
        elif src.startswith('/*', i):
            j = src.find('*/', i + 2); j = n if j < 0 else j + 2
            out.append(blank(src[i:j])); i = j
        else:
            m = re.match(r'(\$*)(@?)("""+)', src[i:i+12]) or re.match(r'(\$*)(@?)(")|(@)(\$+)(")', src[i:i+6])
            if m and (i == 0 or not (src[i-1].isalnum() or src[i-1] == '_')) or c == '"':
                m2 = re.match(r'[\$@]*("+)', src[i:])
                pre = re.match(r'[\$@]*', src[i:]).group(0)
                quotes = m2.group(1)
                j = i + len(pre)
                if len(quotes) >= 3:  # raw string
                    q = quotes; j += len(q)
                    k = src.find(q, j); k = n if k < 0 else k + len(q)
                    out.append(blank(src[i:k])); i = k; continue
                verbatim = '@' in pre
                interp = '$' in pre
                j += 1; depth = 0
                while j < n:
                    ch = src[j]
                    if interp and ch == '{':
                        if src.startswith('{{', j): j += 2; continue
                        depth += 1
                    elif interp and ch == '}' and depth > 0:
                        depth -= 1
                    elif depth == 0:
                        if verbatim and ch == '"':
                            if src.startswith('""', j): j += 2; continue
                            j += 1; break
                        if not verbatim and ch == '\\': j += 2; continue
                        if not verbatim and ch == '"': j += 1; break
                        if not verbatim and ch == '\n': break
                    elif ch == '"':  # nested string inside interpolation hole: skip simply
                        k = j + 1
                        while k < n and src[k] != '"':
                            k += 2 if src[k] == '\\' else 1
                        j = k + 1; continue
                    j += 1
                out.append(blank(src[i:j])); i = j
            elif c == "'":
                m = re.match(r"'(\\.[^']*|[^'\\])'", src[i:])
                if m: out.append(blank(m.group(0))); i += len(m.group(0))
                else: out.append(c); i += 1
            else:
                out.append(c); i += 1
    return ''.join(out)

KW = {'if','for','foreach','while','switch','catch','using','lock','return','new','nameof','typeof','sizeof','when','await','throw','fixed','default','checked','unchecked','base','this','is','and','or','not','var','in','else','yield','get','set','init'}
HDR = re.compile(r'(?<![\w.])([A-Za-z_]\w*)\s*(<[^()=;{}]*>)?\s*\(')

def methods(path, code):
    lines_at = [0]
    for k, ch in enumerate(code):
        if ch == '\n': lines_at.append(k + 1)
    import bisect
    line = lambda pos: bisect.bisect_right(lines_at, pos)
    for m in HDR.finditer(code):
        name = m.group(1)
        if name in KW: continue
        # the header must start a statement/member: previous non-space char is one of ; { } ] or a type/modifier token
        before = code[:m.start()].rstrip()
        # require something like a return type or modifier before the name on the same logical statement
        prevtok = re.search(r'([\w>\]\?\)]|[;{}])\s*$', before)
        if not prevtok: continue
        if prevtok.group(1) in ';{}':
            # constructor without modifiers is rare; skip (calls like Foo(); also start here)
            continue
        # find statement start to ensure it's a declaration: text between last ;{} and name has no '=' '(' '.'
        st = max(before.rfind(';'), before.rfind('{'), before.rfind('}'))
        decl = code[st+1:m.start()]
        decl_nattr = re.sub(r'\[[^\]]*\]', ' ', decl)
        if re.search(r'[=(.,:?]', decl_nattr.replace('?', '')) and not re.search(r'\boperator\s*$', decl_nattr): 
            if not re.fullmatch(r'[\s\w<>\[\](),?.]*', decl_nattr): continue
        if re.search(r'\b(return|new|await|throw|else|case|goto|yield|using|var|class|record|struct|interface|delegate)\b', decl_nattr): continue
        if not decl_nattr.strip(): continue
        # matching paren
        j = m.end() - 1; depth = 0
        while j < len(code):
            if code[j] == '(': depth += 1
            elif code[j] == ')':
                depth -= 1
                if depth == 0: break
            j += 1
        k = j + 1
        # skip base(...) / this(...) constructor initializers and where clauses
        tail = re.match(r'\s*(:\s*(base|this)\s*\(|where\b)', code[k:])
        if tail:
            # move to the first '{' or '=>' or ';' at paren depth 0
            d = 0
            while k < len(code):
                ch = code[k]
                if ch == '(': d += 1
                elif ch == ')': d -= 1
                elif d == 0 and (ch in '{;' or code.startswith('=>', k)): break
                k += 1
        rest = re.match(r'\s*', code[k:]); k += rest.end()
        if k >= len(code): continue
        if code[k] == '{':
            d = 0; e = k
            while e < len(code):
                if code[e] == '{': d += 1
                elif code[e] == '}':
                    d -= 1
                    if d == 0: break
                e += 1
        elif code.startswith('=>', k):
            d = 0; e = k
            while e < len(code):
                ch = code[e]
                if ch in '({[': d += 1
                elif ch in ')}]': d -= 1
                elif ch == ';' and d == 0: break
                e += 1
        else:
            continue
        start_line = line(st + 1 + len(decl) - len(decl.lstrip()))
        yield name, start_line, line(e) - start_line + 1

limit = int(sys.argv[1]); roots = sys.argv[2:]
rows = []
for root in roots:
    for dp, dn, fn in os.walk(root):
        dn[:] = [d for d in dn if d not in ('bin', 'obj')]
        for f in fn:
            if not f.endswith('.cs'): continue
            p = os.path.join(dp, f)
            code = strip(open(p, encoding='utf-8-sig').read())
            seen = set()
            for name, l, cnt in methods(p, code):
                if cnt > limit and (name, l) not in seen:
                    seen.add((name, l)); rows.append((cnt, p, l, name))
for cnt, p, l, name in sorted(rows, reverse=True):
    print(f'{cnt:5d}  {p}:{l}  {name}')

using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using LoraGrains.Diffusion.Models;

namespace LoraGrains.Diffusion.Checkpoints;

/// <summary>
/// Reads the subset of YAML that LDM/CompVis model configs (v1-inference.yaml and friends) use: block
/// mappings and sequences nested by indentation, flow lists/maps (<c>[1, 2, 4]</c>, <c>{a: 1}</c>),
/// plain (possibly multi-line) and quoted scalars, and comments. The result uses the JSON node types
/// (maps → <see cref="JsonObject"/>, lists → <see cref="JsonArray"/>, scalars → long/double/bool/string/null).
/// Anchors, aliases, tags, block scalars and multiple documents are rejected with a clear error rather
/// than misread.
/// </summary>
internal sealed class YamlSubsetReader
{
    private readonly string source;
    private readonly List<Line> lines;
    private int pos;

    private record struct Line(int Number, int Indent, string Text);

    private YamlSubsetReader(string source, List<Line> lines)
    {
        this.source = source;
        this.lines = lines;
    }

    /// <summary>Parses the YAML file at <paramref name="path"/>.</summary>
    /// <exception cref="ModelLoadException">The file cannot be read or uses YAML outside the supported subset.</exception>
    public static JsonNode? Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException($"{path}: cannot read the config: {e.Message}", e);
        }

        return Parse(text, path);
    }

    /// <summary>Parses <paramref name="text"/>; <paramref name="source"/> names it in error messages.</summary>
    /// <exception cref="ModelLoadException">The text uses YAML outside the supported subset or is malformed.</exception>
    public static JsonNode? Parse(string text, string source)
    {
        var reader = new YamlSubsetReader(source, SplitLines(text, source));
        if (reader.lines.Count == 0) return null;
        var first = reader.lines[0];
        if (first.Indent != 0) throw reader.Error(first, "the document must start at column 1");
        var root = reader.ParseBlock(0);
        if (reader.pos < reader.lines.Count)
            throw reader.Error(reader.lines[reader.pos], "indentation does not match any enclosing block");
        return root;
    }

    private static List<Line> SplitLines(string text, string source)
    {
        var result = new List<Line>();
        var raw = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (var n = 0; n < raw.Length; n++)
        {
            var line = raw[n];
            var indent = 0;
            while (indent < line.Length && line[indent] == ' ') indent++;
            var content = StripComment(line[indent..]).TrimEnd();
            if (content.Length == 0) continue;
            if (content[0] == '\t')
                throw new ModelLoadException($"{source}:{n + 1}: tabs are not allowed for indentation in YAML");
            if (content.StartsWith('%'))
                throw new ModelLoadException($"{source}:{n + 1}: YAML directives are not supported");
            if (content is "---" or "...")
            {
                // A leading document marker is harmless; a second document is not something a model config has.
                if (result.Count == 0 && content == "---") continue;
                throw new ModelLoadException($"{source}:{n + 1}: multiple YAML documents are not supported");
            }

            result.Add(new Line(n + 1, indent, content));
        }

        return result;
    }

    // '#' starts a comment at the start of the content or after whitespace, outside quotes.
    private static string StripComment(string s)
    {
        char quote = '\0';
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (quote != '\0')
            {
                if (c == '\\' && quote == '"') i++;
                else if (c == quote) quote = '\0';
                continue;
            }

            if (c is '"' or '\'' && (i == 0 || " \t[{,:-".Contains(s[i - 1], StringComparison.Ordinal))) quote = c;
            else if (c == '#' && (i == 0 || s[i - 1] is ' ' or '\t')) return s[..i];
        }

        return s;
    }

    private ModelLoadException Error(Line line, string problem) => new($"{source}:{line.Number}: {problem}");

    private static bool IsSequenceItem(string text) => text == "-" || text.StartsWith("- ", StringComparison.Ordinal);

    private JsonNode? ParseBlock(int indent) =>
        IsSequenceItem(lines[pos].Text) ? ParseSequence(indent) : ParseMapping(indent);

    private JsonObject ParseMapping(int indent)
    {
        var map = new JsonObject();
        while (pos < lines.Count && lines[pos].Indent == indent && !IsSequenceItem(lines[pos].Text))
        {
            var line = lines[pos];
            if (!TrySplitKey(line, out var key, out var rest))
                throw Error(line, $"expected 'key: value', found '{line.Text}'");
            if (map.ContainsKey(key)) throw Error(line, $"duplicate key '{key}'");
            pos++;
            JsonNode? value;
            if (rest.Length == 0)
            {
                if (pos < lines.Count && lines[pos].Indent > indent) value = ParseBlock(lines[pos].Indent);
                else if (pos < lines.Count && lines[pos].Indent == indent && IsSequenceItem(lines[pos].Text)) value = ParseSequence(indent);
                else value = null;
            }
            else
            {
                value = ParseInlineValue(line, rest, indent);
            }

            map[key] = value;
            if (pos < lines.Count && lines[pos].Indent > indent)
                throw Error(lines[pos], "unexpected indentation");
        }

        return map;
    }

    private JsonArray ParseSequence(int indent)
    {
        var list = new JsonArray();
        while (pos < lines.Count && lines[pos].Indent == indent && IsSequenceItem(lines[pos].Text))
        {
            var line = lines[pos];
            var rest = line.Text[1..].TrimStart(' ');
            var restIndent = indent + (line.Text.Length - rest.Length);
            if (rest.Length == 0)
            {
                pos++;
                list.Add(pos < lines.Count && lines[pos].Indent > indent ? ParseBlock(lines[pos].Indent) : null);
            }
            else if (IsSequenceItem(rest) || (rest[0] is not ('[' or '{' or '"' or '\'') && TrySplitKey(line with { Text = rest }, out _, out _)))
            {
                // "- key: value" / "- - x": the item is a block whose first line starts after the dash;
                // re-read that line at its real column so the following lines nest under it.
                lines[pos] = new Line(line.Number, restIndent, rest);
                list.Add(ParseBlock(restIndent));
            }
            else
            {
                pos++;
                list.Add(ParseInlineValue(line, rest, indent));
            }

            if (pos < lines.Count && lines[pos].Indent > indent)
                throw Error(lines[pos], "unexpected indentation");
        }

        return list;
    }

    // A value on the same line as its key or dash: flow collection, quoted or plain scalar. Plain scalars
    // and unfinished flow collections continue on following lines indented deeper than the owner.
    private JsonNode? ParseInlineValue(Line line, string rest, int ownerIndent)
    {
        switch (rest[0])
        {
            case '|' or '>':
                throw Error(line, "block scalars ('|', '>') are not supported");
            case '&' or '*':
                throw Error(line, "anchors and aliases are not supported");
            case '!':
                throw Error(line, "tags are not supported");
        }

        if (rest[0] is '[' or '{')
        {
            var text = new StringBuilder(rest);
            while (!FlowIsClosed(text.ToString()) && pos < lines.Count && lines[pos].Indent > ownerIndent)
                text.Append(' ').Append(lines[pos++].Text);
            var flow = new FlowParser(text.ToString(), this, line);
            var node = flow.ParseValue();
            flow.ExpectEnd();
            return node;
        }

        if (rest[0] is '"' or '\'')
        {
            var (value, end) = ReadQuoted(rest, 0, line);
            if (end != rest.Length) throw Error(line, $"unexpected text after the quoted string: '{rest[end..]}'");
            return JsonValue.Create(value);
        }

        var plain = new StringBuilder(rest);
        while (pos < lines.Count && lines[pos].Indent > ownerIndent && !IsSequenceItem(lines[pos].Text))
            plain.Append(' ').Append(lines[pos++].Text);
        return PlainScalar(plain.ToString());
    }

    private static bool FlowIsClosed(string s)
    {
        var depth = 0;
        char quote = '\0';
        foreach (var c in s)
        {
            if (quote != '\0')
            {
                if (c == quote) quote = '\0';
                continue;
            }

            if (c is '"' or '\'') quote = c;
            else if (c is '[' or '{') depth++;
            else if (c is ']' or '}') depth--;
        }

        return depth <= 0;
    }

    private bool TrySplitKey(Line line, out string key, out string rest)
    {
        var text = line.Text;
        key = rest = "";
        int colon;
        if (text[0] is '"' or '\'')
        {
            var (k, end) = ReadQuoted(text, 0, line);
            if (end >= text.Length || text[end] != ':' || (end + 1 < text.Length && text[end + 1] != ' ')) return false;
            key = k;
            colon = end;
        }
        else
        {
            if (text[0] is '[' or '{') return false;
            colon = -1;
            for (var i = 0; i < text.Length; i++)
            {
                if (text[i] == ':' && (i + 1 == text.Length || text[i + 1] == ' '))
                {
                    colon = i;
                    break;
                }
            }

            if (colon <= 0) return false;
            key = text[..colon].TrimEnd();
            if (key.Contains('#', StringComparison.Ordinal)) return false;
        }

        rest = text[(colon + 1)..].Trim();
        return true;
    }

    private (string Value, int End) ReadQuoted(string s, int start, Line line)
    {
        var quote = s[start];
        var sb = new StringBuilder();
        for (var i = start + 1; i < s.Length; i++)
        {
            var c = s[i];
            if (quote == '\'' && c == '\'')
            {
                if (i + 1 < s.Length && s[i + 1] == '\'')
                {
                    sb.Append('\'');
                    i++;
                    continue;
                }

                return (sb.ToString(), i + 1);
            }

            if (quote == '"' && c == '"') return (sb.ToString(), i + 1);
            if (quote == '"' && c == '\\' && i + 1 < s.Length)
            {
                i++;
                sb.Append(s[i] switch
                {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '0' => '\0',
                    '"' or '\\' or '/' or ' ' => s[i],
                    _ => throw Error(line, $"unsupported escape '\\{s[i]}' in a double-quoted string"),
                });
                continue;
            }

            sb.Append(c);
        }

        throw Error(line, "unterminated quoted string (multi-line quoted strings are not supported)");
    }

    // Plain scalars resolve like OmegaConf's loader: null, booleans, integers, floats (with or without a dot).
    private static JsonNode? PlainScalar(string s)
    {
        switch (s)
        {
            case "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE":
                return JsonValue.Create(true);
            case "false" or "False" or "FALSE":
                return JsonValue.Create(false);
            case ".inf" or "+.inf" or ".Inf" or "+.Inf" or ".INF":
                return JsonValue.Create(double.PositiveInfinity);
            case "-.inf" or "-.Inf" or "-.INF":
                return JsonValue.Create(double.NegativeInfinity);
            case ".nan" or ".NaN" or ".NAN":
                return JsonValue.Create(double.NaN);
        }

        if (IsInteger(s) && long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
            return JsonValue.Create(l);
        if (IsFloat(s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
            return JsonValue.Create(d);
        return JsonValue.Create(s);
    }

    private static bool IsInteger(string s)
    {
        var i = s.Length > 0 && s[0] is '+' or '-' ? 1 : 0;
        if (i == s.Length) return false;
        for (; i < s.Length; i++)
            if (!char.IsAsciiDigit(s[i])) return false;
        return true;
    }

    // [-+]? ( \.[0-9]+ | [0-9]+ (\.[0-9]*)? ) ([eE][-+]?[0-9]+)?   (e.g. 1.0e-04, 1.e-6, 1., 1e-6)
    private static bool IsFloat(string s)
    {
        var i = s.Length > 0 && s[0] is '+' or '-' ? 1 : 0;
        var digits = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i])) { i++; digits++; }
        if (i < s.Length && s[i] == '.')
        {
            i++;
            while (i < s.Length && char.IsAsciiDigit(s[i])) { i++; digits++; }
        }

        if (digits == 0) return false;
        if (i < s.Length && s[i] is 'e' or 'E')
        {
            i++;
            if (i < s.Length && s[i] is '+' or '-') i++;
            var exp = 0;
            while (i < s.Length && char.IsAsciiDigit(s[i])) { i++; exp++; }
            if (exp == 0) return false;
        }

        return i == s.Length;
    }

    /// <summary>Flow collections on one logical line: <c>[a, [b, c]]</c>, <c>{k: v}</c>.</summary>
    private sealed class FlowParser(string text, YamlSubsetReader owner, Line line)
    {
        private int i;

        public JsonNode? ParseValue()
        {
            SkipSpaces();
            if (i >= text.Length) throw owner.Error(line, "unexpected end of a flow collection");
            switch (text[i])
            {
                case '[':
                {
                    i++;
                    var list = new JsonArray();
                    SkipSpaces();
                    if (Peek() == ']') { i++; return list; }
                    while (true)
                    {
                        list.Add(ParseValue());
                        SkipSpaces();
                        var c = Next();
                        if (c == ']') return list;
                        if (c != ',') throw owner.Error(line, $"expected ',' or ']' in a flow list, found {Describe(c)}");
                        SkipSpaces();
                        if (Peek() == ']') { i++; return list; }
                    }
                }

                case '{':
                {
                    i++;
                    var map = new JsonObject();
                    SkipSpaces();
                    if (Peek() == '}') { i++; return map; }
                    while (true)
                    {
                        SkipSpaces();
                        var key = ReadFlowScalarText(isKey: true);
                        SkipSpaces();
                        if (Next() != ':') throw owner.Error(line, $"expected ':' after key '{key}' in a flow map");
                        if (map.ContainsKey(key)) throw owner.Error(line, $"duplicate key '{key}'");
                        map[key] = ParseValue();
                        SkipSpaces();
                        var c = Next();
                        if (c == '}') return map;
                        if (c != ',') throw owner.Error(line, $"expected ',' or '}}' in a flow map, found {Describe(c)}");
                    }
                }

                case '"' or '\'':
                {
                    var (value, end) = owner.ReadQuoted(text, i, line);
                    i = end;
                    return JsonValue.Create(value);
                }

                case '&' or '*' or '!':
                    throw owner.Error(line, "anchors, aliases and tags are not supported");
                default:
                    return PlainScalar(ReadFlowScalarText(isKey: false));
            }
        }

        public void ExpectEnd()
        {
            SkipSpaces();
            if (i != text.Length) throw owner.Error(line, $"unexpected text after a flow collection: '{text[i..]}'");
        }

        private string ReadFlowScalarText(bool isKey)
        {
            if (Peek() is '"' or '\'')
            {
                var (value, end) = owner.ReadQuoted(text, i, line);
                i = end;
                return value;
            }

            var start = i;
            while (i < text.Length && text[i] is not (',' or ']' or '}') && !(isKey && text[i] == ':')) i++;
            return text[start..i].Trim();
        }

        private void SkipSpaces()
        {
            while (i < text.Length && text[i] == ' ') i++;
        }

        private static string Describe(char c) => c == '\0' ? "the end of the line (unclosed flow collection?)" : $"'{c}'";

        private char Peek() => i < text.Length ? text[i] : '\0';

        private char Next() => i < text.Length ? text[i++] : '\0';
    }
}

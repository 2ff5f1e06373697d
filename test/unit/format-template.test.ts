// The Go-template subset behind --format (src/cli/template), table-driven:
// the cases are the examples of Docker's documentation (docs.docker.com:
// "Format command and log output", and the `docker inspect` reference), run
// over an inspect object shaped like Docker's, plus the Go semantics they
// rely on (missing keys, structs, trimming, errors with Go's wording).
import { describe, expect, test } from 'vitest';
import { execute, struct } from '../../src/cli/template/exec.js';
import { parseTemplate } from '../../src/cli/template/parse.js';

const render = (tpl: string, dot: unknown) => execute(parseTemplate(tpl), dot, tpl);

// `docker inspect` of a container with a published port (the fields the docs' examples read).
const container = {
  Id: 'd2cc496561d6d520cbc0236b4ba88c362c446a7619992123f11c809cded25b47',
  Name: '/Web_Server',
  Args: ['-g', 'daemon off;'],
  Image: 'nginx:1.25',
  LogPath: '/var/lib/docker/containers/d2cc49/d2cc49-json.log',
  Mounts: [],
  Config: { Image: 'nginx:1.25', Labels: { 'com.example.vendor': 'ACME' } },
  NetworkSettings: {
    IPAddress: '172.17.0.2',
    Ports: { '8787/tcp': [{ HostIp: '0.0.0.0', HostPort: '8787' }], '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '80' }] },
    Networks: {
      bridge: { IPAddress: '172.17.0.2', MacAddress: '02:42:ac:11:00:02' },
      mynet: { IPAddress: '172.19.0.2', MacAddress: '02:42:ac:13:00:02' },
    },
  },
};

describe("Docker's documented examples", () => {
  test.each([
    // docker inspect reference
    ["{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", '172.17.0.2172.19.0.2'],
    ["{{range .NetworkSettings.Networks}}{{.MacAddress}}{{end}}", '02:42:ac:11:00:0202:42:ac:13:00:02'],
    ['{{.LogPath}}', '/var/lib/docker/containers/d2cc49/d2cc49-json.log'],
    ['{{.Config.Image}}', 'nginx:1.25'],
    ['{{range $p, $conf := .NetworkSettings.Ports}} {{$p}} -> {{(index $conf 0).HostPort}} {{end}}', ' 80/tcp -> 80  8787/tcp -> 8787 '],
    ['{{(index (index .NetworkSettings.Ports "8787/tcp") 0).HostPort}}', '8787'],
    ['{{json .Config}}', '{"Image":"nginx:1.25","Labels":{"com.example.vendor":"ACME"}}'],
    ['{{.NetworkSettings.IPAddress}}', '172.17.0.2'],
    // Format command and log output
    ['{{join .Args " , "}}', '-g , daemon off;'],
    ['{{json .Mounts}}', '[]'],
    ['{{lower .Name}}', '/web_server'],
    ['{{split .Image ":"}}', '[nginx 1.25]'],
    ['{{title .Name}}', '/Web_Server'],
    ['{{upper .Name}}', '/WEB_SERVER'],
    ['{{range .NetworkSettings.Networks}}{{println .IPAddress}}{{end}}', '172.17.0.2\n172.19.0.2\n'],
    ['{{index .Config.Labels "com.example.vendor"}}', 'ACME'],
  ])('%s', (tpl, want) => {
    expect(render(tpl, container)).toBe(want);
  });
});

describe('Go semantics', () => {
  test.each([
    ['if / else if / else', '{{if eq .Image "x"}}x{{else if .Config.Image}}has image{{else}}none{{end}}', 'has image'],
    ['with sets dot', '{{with .Config}}{{.Image}}{{end}}', 'nginx:1.25'],
    ['range else on empty', '{{range .Mounts}}m{{else}}no mounts{{end}}', 'no mounts'],
    ['range over a list with index', '{{range $i, $a := .Args}}{{$i}}:{{$a}};{{end}}', '0:-g;1:daemon off;;'],
    ['variables and $', '{{$n := .Name}}{{with .Config}}{{$n}} {{$.Image}}{{end}}', '/Web_Server nginx:1.25'],
    ['= assigns, := declares', '{{$n := 1}}{{range .Args}}{{$n = 2}}{{end}}{{$n}}', '2'],
    ['pipelines pass the last value', '{{.Name | upper | printf "%s!"}}', '/WEB_SERVER!'],
    ['trim markers', 'a  {{- .Image -}}  b', 'anginx:1.25b'],
    ['comments', '{{/* nothing */}}x{{- /* trimmed */ -}} y', 'xy'],
    ['missing map key prints <no value>', '{{.Nope}}', '<no value>'],
    ['lists and maps print as Go does', '{{.Args}} {{.Config.Labels}}', '[-g daemon off;] map[com.example.vendor:ACME]'],
    ['len, and, or, not', '{{len .Args}} {{and .Name .Image}} {{or "" "b"}} {{not .Mounts}}', '2 nginx:1.25 b true'],
    ['print spacing', '{{print 1 2 "a" 3}}', '1 2a3'],
    ['printf verbs', '{{printf "%-6s|%5d|%q|%v" "ab" 42 "q" .Args}}', 'ab    |   42|"q"|[-g daemon off;]'],
    ['pad and truncate', '[{{pad "x" 1 2}}] {{truncate "abcdef" 3}}', '[ x  ] abc'],
    ['lt/gt on numbers', '{{if lt 1 2}}lt{{end}}{{if gt 1 2}}gt{{end}}', 'lt'],
    ['string escapes', '{{"a\\tb"}}{{`raw\\t`}}', 'a\tbraw\\t'],
    ['break and continue', '{{range .Args}}{{if eq . "-g"}}{{continue}}{{end}}{{.}}{{break}}{{end}}', 'daemon off;'],
  ])('%s', (_name, tpl, want) => {
    expect(render(tpl, container)).toBe(want);
  });

  test('a struct: fields, methods with arguments, missing fields are errors, methods are not JSON', () => {
    const row = struct('sandbox row', { ID: 'a762a2b37a1d', Labels: 'color=blue' }, { Label: (k: string) => (k === 'color' ? 'blue' : '') });
    expect(render('{{.ID}} {{.Label "color"}} [{{.Label "size"}}]', row)).toBe('a762a2b37a1d blue []');
    expect(render('{{json .}}', row)).toBe('{"ID":"a762a2b37a1d","Labels":"color=blue"}');
    expect(() => render('{{.Foo}}', row)).toThrow('template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type sandbox row');
    expect(() => render('{{.Label}}', row)).toThrow('wrong number of args for Label: want 1 got 0');
  });

  test.each([
    ['{{.Name', 'template: :1: unclosed action'],
    ['{{if .Name}}x', 'template: :1: unexpected EOF'],
    ['{{end}}', 'template: :1: unexpected {{end}}'],
    ['{{nosuch .Name}}', 'template: :1: function "nosuch" not defined'],
    ['a\n{{$x}}', 'template: :2: undefined variable "$x"'],
    ['{{.Name.First}}', 'template: :1:2: executing "" at <.Name.First>: can\'t evaluate field First in type string'],
    ['{{.Nope.Deeper}}', 'template: :1:2: executing "" at <.Nope.Deeper>: nil pointer evaluating interface {}.Deeper'],
    ['{{index .Args 5}}', 'error calling index: index out of range: 5'],
  ])('error: %s', (tpl, message) => {
    expect(() => render(tpl, container)).toThrow(message);
  });
});

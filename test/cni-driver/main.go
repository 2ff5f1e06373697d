// cni-driver runs a CNI network configuration list the way container runtimes
// do, through Go's libcni (Debian's golang-github-appc-cni-dev, libcni 1.1.2):
// the same environment, stdin, result cache and prevResult on CHECK and DEL as
// Podman and containerd, so a plugin can be exercised with no runtime at all.
//
//	cni-driver -conflist F -path DIR[:DIR] -cache DIR -id ID [-netns P] [-ifname eth0]
//	           [-args K=V;K=V] [-cap JSON] add|check|del|validate|version|gc|status
//
// add prints the result as libcni returns it (converted to the list's
// cniVersion); every command writes "elapsed_ms N" (the libcni call alone, no
// process start) as the last line of stderr. Errors: the error's text on
// stderr, exit 1; a plugin's error JSON ({code,msg,details}) on stdout.
//
// libcni 1.1.2 predates GC and STATUS (CNI 1.1): gc and status run each
// plugin of the list by hand with the environment and stdin libcni 1.2 uses
// (CNI_COMMAND=GC|STATUS, no container id or netns; the list's cniVersion
// and name injected, and for gc "cni.dev/valid-attachments" and
// "cni.dev/attachments" from -valid JSON).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
)

func main() {
	conflist := flag.String("conflist", "", "network configuration list (.conflist)")
	path := flag.String("path", "/opt/cni/bin", "plugin directories, colon separated (CNI_PATH)")
	cache := flag.String("cache", "", "libcni's result cache directory")
	id := flag.String("id", "", "CNI_CONTAINERID")
	netns := flag.String("netns", "", "CNI_NETNS")
	ifname := flag.String("ifname", "eth0", "CNI_IFNAME")
	args := flag.String("args", "", "CNI_ARGS: K=V;K=V")
	capArgs := flag.String("cap", "", "runtimeConfig capability arguments, JSON object")
	valid := flag.String("valid", "[]", "gc: valid attachments, JSON [{\"containerID\":..,\"ifname\":..}]")
	flag.Parse()
	if flag.NArg() != 1 || *conflist == "" {
		fmt.Fprintln(os.Stderr, "usage: cni-driver -conflist F [options] add|check|del|validate|version|gc|status")
		os.Exit(2)
	}
	list, err := libcni.ConfListFromFile(*conflist)
	if err != nil {
		fail(err)
	}
	paths := strings.Split(*path, ":")
	cni := libcni.NewCNIConfigWithCacheDir(paths, *cache, nil)
	rt := &libcni.RuntimeConf{ContainerID: *id, NetNS: *netns, IfName: *ifname, CacheDir: *cache}
	for _, kv := range strings.Split(*args, ";") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			rt.Args = append(rt.Args, [2]string{k, v})
		}
	}
	if *capArgs != "" {
		if err := json.Unmarshal([]byte(*capArgs), &rt.CapabilityArgs); err != nil {
			fail(fmt.Errorf("-cap: %w", err))
		}
	}

	ctx := context.Background()
	start := time.Now()
	var out interface{}
	switch cmd := flag.Arg(0); cmd {
	case "add":
		var res types.Result
		res, err = cni.AddNetworkList(ctx, list, rt)
		out = res
	case "check":
		err = cni.CheckNetworkList(ctx, list, rt)
	case "del":
		err = cni.DelNetworkList(ctx, list, rt)
	case "validate":
		out, err = cni.ValidateNetworkList(ctx, list)
	case "version":
		versions := map[string]interface{}{}
		for _, p := range list.Plugins {
			var info interface{ SupportedVersions() []string }
			info, err = cni.GetVersionInfo(ctx, p.Network.Type)
			if err != nil {
				break
			}
			versions[p.Network.Type] = info.SupportedVersions()
		}
		out = versions
	case "gc", "status":
		err = byHand(ctx, list, paths, strings.ToUpper(cmd), *valid)
	default:
		fmt.Fprintf(os.Stderr, "cni-driver: unknown command %q\n", cmd)
		os.Exit(2)
	}
	elapsed := time.Since(start)
	if err != nil {
		fmt.Fprintf(os.Stderr, "elapsed_ms %.3f\n", float64(elapsed.Microseconds())/1000)
		fail(err)
	}
	if out != nil {
		b, _ := json.Marshal(out)
		fmt.Println(string(b))
	}
	fmt.Fprintf(os.Stderr, "elapsed_ms %.3f\n", float64(elapsed.Microseconds())/1000)
}

// byHand sends GC or STATUS to each plugin of the list, as libcni 1.2 does.
func byHand(ctx context.Context, list *libcni.NetworkConfigList, paths []string, command, valid string) error {
	var attachments []interface{}
	if err := json.Unmarshal([]byte(valid), &attachments); err != nil {
		return fmt.Errorf("-valid: %w", err)
	}
	for _, p := range list.Plugins {
		inject := map[string]interface{}{"cniVersion": list.CNIVersion, "name": list.Name}
		if command == "GC" {
			inject["cni.dev/valid-attachments"] = attachments
			inject["cni.dev/attachments"] = attachments
		}
		conf, err := libcni.InjectConf(p, inject)
		if err != nil {
			return err
		}
		bin, err := invoke.FindInPath(p.Network.Type, paths)
		if err != nil {
			return err
		}
		a := &invoke.Args{Command: command, Path: strings.Join(paths, ":")}
		if err := invoke.ExecPluginWithoutResult(ctx, bin, conf.Bytes, a, nil); err != nil {
			return fmt.Errorf("plugin type=%q: %w", p.Network.Type, err)
		}
	}
	return nil
}

func fail(err error) {
	var e *types.Error
	if errors.As(err, &e) {
		b, _ := json.Marshal(e)
		fmt.Println(string(b))
	}
	fmt.Fprintf(os.Stderr, "cni-driver: %v\n", err)
	os.Exit(1)
}

"""The real tools together, once: etcd, kube-apiserver, kube-controller-manager, kube-scheduler
and kwok on loopback (random ports), then the real Pulumi engine with its kubernetes provider:
``pulumi up`` of a program with a ConfigMap and a Deployment that kwok makes Ready,
``pulumi preview --expect-no-changes``, ``pulumi destroy``; every process stopped afterwards.

The program is Pulumi YAML: the Python language host and the random provider are not served by
the module proxy (CONTRIBUTING "The real tools"). Run by ``make e2e`` (which builds the tools first);
prints each step with its duration and exits non-zero at the first failure.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CACHE = Path(os.environ.get("E2E_CACHE", Path.home() / ".cache" / "djangoapp-e2e"))
TOOLS = {
    "kube": "v1.34.4",
    "etcd": "v3.6.16",
    "kwok": "v0.8.0",
    "pulumi": "v3.260.0",
    "kubernetes": "4.25.0",
    "yaml": "v1.25.0",
}
PROGRAM = """\
name: smoke
runtime: yaml
resources:
  settings:
    type: kubernetes:core/v1:ConfigMap
    properties:
      metadata: {name: smoke-settings, namespace: default}
      data: {greeting: hello}
  web:
    type: kubernetes:apps/v1:Deployment
    properties:
      metadata: {name: smoke-web, namespace: default}
      spec:
        replicas: 2
        selector: {matchLabels: {app: smoke-web}}
        template:
          metadata: {labels: {app: smoke-web}}
          spec:
            containers:
              - name: web
                image: registry.k8s.io/pause:3.10
outputs:
  ready: ${web.status.readyReplicas}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def binary(tool: str, name: str) -> str:
    path = CACHE / f"{tool}-{TOOLS[tool]}" / "bin" / name
    if not path.exists():
        sys.exit(f"{path} is missing: run `make e2e-tools` first")
    return str(path)


def certificates(root: Path) -> dict[str, Path]:
    """A CA, the API server's serving certificate for 127.0.0.1, an admin client certificate
    (group system:masters) and the service-account signing key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn: str, org: str = "") -> x509.Name:
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
        if org:
            attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
        return x509.Name(attributes)

    def write_key(key, path: Path) -> Path:
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return path

    def issue(subject, key, issuer, issuer_key, ca=False, sans=None, client=False):
        builder = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )  # fmt: skip
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        if not ca:
            usage = (
                x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH
                if client
                else x509.oid.ExtendedKeyUsageOID.SERVER_AUTH
            )
            builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    def pem(cert, path: Path) -> Path:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return path

    new_key = lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)  # noqa: E731
    ca_key = new_key()
    ca = issue(name("smoke-ca"), ca_key, name("smoke-ca"), ca_key, ca=True)
    server_key, admin_key, sa_key = new_key(), new_key(), new_key()
    sans = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("10.96.0.1")),
    ]
    files = {
        "ca": pem(ca, root / "ca.crt"),
        "server": pem(
            issue(name("kube-apiserver"), server_key, ca.subject, ca_key, sans=sans),
            root / "server.crt",
        ),
        "server-key": write_key(server_key, root / "server.key"),
        "admin": pem(
            issue(
                name("smoke-admin", "system:masters"), admin_key, ca.subject, ca_key, client=True
            ),
            root / "admin.crt",
        ),
        "admin-key": write_key(admin_key, root / "admin.key"),
        "sa-key": write_key(sa_key, root / "sa.key"),
    }
    files["sa-pub"] = root / "sa.pub"
    files["sa-pub"].write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return files


class Cluster:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.certs = certificates(root)
        self.api_port = free_port()
        self.kubeconfig = root / "kubeconfig"

    def start(self, name: str, argv: list[str]) -> None:
        log = open(self.root / f"{name}.log", "w")
        self.processes.append(
            (
                name,
                subprocess.Popen(
                    argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                ),
            )
        )

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        context = ssl.create_default_context(cafile=str(self.certs["ca"]))
        context.load_cert_chain(self.certs["admin"], self.certs["admin-key"])
        request = urllib.request.Request(
            f"https://127.0.0.1:{self.api_port}{path}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            body = response.read()
            return (
                json.loads(body)
                if response.headers.get_content_type() == "application/json"
                else {"text": body.decode()}
            )

    def wait(self, what: str, check, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except Exception:
                pass
            for name, process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited ({process.returncode}): {(self.root / f'{name}.log').read_text()[-3000:]}"
                    )
            time.sleep(0.5)
        raise RuntimeError(f"timed out waiting for {what}")

    def up(self) -> None:
        c = self.certs
        client, peer = free_port(), free_port()
        self.start("etcd", [
            binary("etcd", "etcd"), "--data-dir", str(self.root / "etcd"), "--name", "smoke",
            "--listen-client-urls", f"http://127.0.0.1:{client}", "--advertise-client-urls", f"http://127.0.0.1:{client}",
            "--listen-peer-urls", f"http://127.0.0.1:{peer}", "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"smoke=http://127.0.0.1:{peer}", "--listen-metrics-urls", f"http://127.0.0.1:{free_port()}",
        ])  # fmt: skip
        self.start("kube-apiserver", [
            binary("kube", "kube-apiserver"), "--etcd-servers", f"http://127.0.0.1:{client}",
            "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", str(self.api_port),
            "--tls-cert-file", str(c["server"]), "--tls-private-key-file", str(c["server-key"]),
            "--client-ca-file", str(c["ca"]), "--service-account-issuer", "https://kubernetes.default.svc",
            "--service-account-key-file", str(c["sa-pub"]), "--service-account-signing-key-file", str(c["sa-key"]),
            "--service-cluster-ip-range", "10.96.0.0/16", "--authorization-mode", "Node,RBAC",
            "--cert-dir", str(self.root / "apiserver-certs"),
        ])  # fmt: skip
        self.kubeconfig.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "smoke",
            "clusters": [{"name": "smoke", "cluster": {"server": f"https://127.0.0.1:{self.api_port}", "certificate-authority": str(c["ca"])}}],
            "users": [{"name": "admin", "user": {"client-certificate": str(c["admin"]), "client-key": str(c["admin-key"])}}],
            "contexts": [{"name": "smoke", "context": {"cluster": "smoke", "user": "admin", "namespace": "default"}}],
        }))  # fmt: skip
        self.wait("the API server", lambda: self.api("GET", "/readyz") is not None)
        config = ["--kubeconfig", str(self.kubeconfig), "--authentication-kubeconfig", str(self.kubeconfig),
                  "--authorization-kubeconfig", str(self.kubeconfig), "--leader-elect=false", "--secure-port", "0"]  # fmt: skip
        self.start("kube-controller-manager", [
            binary("kube", "kube-controller-manager"), *config, "--service-account-private-key-file", str(c["sa-key"]),
            "--root-ca-file", str(c["ca"]), "--use-service-account-credentials=false",
        ])  # fmt: skip
        self.start("kube-scheduler", [binary("kube", "kube-scheduler"), *config])
        stages = str(CACHE / f"kwok-{TOOLS['kwok']}" / "stages.yaml")
        self.start("kwok", [
            binary("kwok", "kwok"), "--kubeconfig", str(self.kubeconfig), "--config", stages,
            "--manage-all-nodes=true", "--server-address", f"127.0.0.1:{free_port()}",
        ])  # fmt: skip
        node = {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "kwok-node-0", "annotations": {"kwok.x-k8s.io/node": "fake"}, "labels": {"type": "kwok"}},
            "status": {"allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"}, "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"}},
        }  # fmt: skip
        self.api("POST", "/api/v1/nodes", node)
        self.wait("the kwok node to be Ready", lambda: any(
            cond["type"] == "Ready" and cond["status"] == "True" for cond in self.api("GET", "/api/v1/nodes/kwok-node-0")["status"].get("conditions", [])
        ))  # fmt: skip
        self.wait(
            "the default service account",
            lambda: self.api("GET", "/api/v1/namespaces/default/serviceaccounts/default"),
        )

    def down(self) -> list[str]:
        left = []
        for name, process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)
            if process.poll() is None:
                left.append(name)
        return left


def pulumi(root: Path, cluster: Cluster, *args: str) -> str:
    path = [str(CACHE / f"{t}-{TOOLS[t]}" / "bin") for t in ("pulumi", "kubernetes", "yaml")]
    env = {
        "PATH": os.pathsep.join([*path, "/usr/bin", "/bin"]), "HOME": str(root / "home"), "PULUMI_HOME": str(root / "pulumi-home"),
        "PULUMI_CONFIG_PASSPHRASE": "smoke", "PULUMI_SKIP_UPDATE_CHECK": "true", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "KUBECONFIG": str(cluster.kubeconfig), "PULUMI_BACKEND_URL": f"file://{root / 'state'}",
    }  # fmt: skip
    result = subprocess.run(
        ["pulumi", *args, "--non-interactive"],
        cwd=root / "program",
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"pulumi {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result.stdout


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="djangoapp-smoke-"))
    for folder in ("home", "pulumi-home", "state", "program"):
        (root / folder).mkdir()
    (root / "program" / "Pulumi.yaml").write_text(PROGRAM)
    cluster = Cluster(root)
    started = time.monotonic()
    failed = None
    try:
        step = time.monotonic()
        cluster.up()
        print(f"control plane + kwok up: {time.monotonic() - step:.1f}s", flush=True)
        for args in (("stack", "init", "organization/smoke/dev"), ("up", "--yes", "--skip-preview"),
                     ("preview", "--expect-no-changes"), ("stack", "output", "ready"), ("destroy", "--yes")):  # fmt: skip
            step = time.monotonic()
            out = pulumi(root, cluster, *args)
            print(f"pulumi {' '.join(args)}: {time.monotonic() - step:.1f}s", flush=True)
            if args[:2] == ("stack", "output"):
                assert out.strip() == "2", f"readyReplicas {out.strip()!r}"
        left = cluster.api("GET", "/apis/apps/v1/namespaces/default/deployments")["items"]
        assert left == [], "destroy left the Deployment"
    except Exception as error:
        failed = error
    return finish(cluster, root, started, "smoke", failed, "1 passed")


def finish(cluster: Cluster, root: Path, started: float, name: str, failed, passed: str) -> int:
    """Stop every process, then report: the logs stay when something failed."""
    still = cluster.down()
    print(
        f"processes left running: {still or 'none'}; total {time.monotonic() - started:.1f}s",
        flush=True,
    )
    if failed is not None or still:
        print(f"{name} FAILED: {failed or still}\n(logs in {root})", file=sys.stderr)
        return 1
    shutil.rmtree(root, ignore_errors=True)
    print(f"{name}: {passed}, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

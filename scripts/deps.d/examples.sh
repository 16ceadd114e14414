# kubernetes-validate (PyPI): the schema-aware lint of docker/examples/k8s
# in tests/examples.rs (strict: unknown fields fail).
python3 -c 'import kubernetes_validate' 2>/dev/null || python3 -m pip install -q kubernetes-validate ||
    echo "deps: kubernetes-validate unavailable; the k8s schema check will skip" >&2

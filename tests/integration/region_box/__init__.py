"""A region in a box: the load-balanced RPC cluster rebuilt on loopback from real parts
(Chopsticks nodes, the probe as the user data ships it, HAProxy configured from the
synthesized target group, the liveness watcher against a fake Auto Scaling endpoint),
for measuring what faults do to routing and replacement. See ``region.py`` (the box),
``rpc_shim.py`` (what Chopsticks lacks), ``haproxy.py`` (the ALB → HAProxy mapping) and
``test_region_box.py`` (the faults and the printed table)."""

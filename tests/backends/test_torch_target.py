from line_mcp.backends.registry import BuildContext, resolve


def test_efficientnet_lite_loads_without_writing_to_stdout(capfd):
    # stdout carries the CLI's JSON and the MCP stdio stream: a library's chatter must not reach it.
    target = resolve("target", "efficientnet-lite:lite0", BuildContext(layer="logits"))
    assert target.num_neurons == 1000
    captured = capfd.readouterr()
    assert captured.out == ""
    assert "Loaded pretrained weights" in captured.err

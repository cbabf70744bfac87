using System.Text.Json.Nodes;
using SafeHaven.Core.Placement;
using SafeHaven.StreamProcessors.Siem;

namespace SafeHaven.StreamProcessors.Tests.Siem;

/// <summary>
/// The two dialects, field by field where the issue fixes them, and every event of both validated by
/// <c>validate_siem.py</c> against the checked-in OCSF 1.8.0 / ECS 9.4.0 subset (<c>siem-schema-subset.json</c>).
/// </summary>
public sealed class SiemProjectionTests
{
    private readonly OcsfProjection _ocsf = new("eu-prod");
    private readonly EcsProjection _ecs = new("eu-prod");

    [Fact]
    public void A_detection_is_an_OCSF_Detection_Finding_whose_uid_is_the_detection_id()
    {
        var d = SiemRecords.Detection();
        var e = _ocsf.Finding(d);

        Assert.Equal(2004, (int)e["class_uid"]!);
        Assert.Equal(2, (int)e["category_uid"]!);
        Assert.Equal(1, (int)e["activity_id"]!);
        Assert.Equal(200401, (long)e["type_uid"]!);
        Assert.Equal(d.detectionId, (string)e["finding_info"]!["uid"]!);
        Assert.Equal(d.detectionId, (string)e["metadata"]!["correlation_uid"]!);
        Assert.Equal("SafeHaven", (string)e["metadata"]!["product"]!["name"]!);
        Assert.Equal(OcsfProjection.Version, (string)e["metadata"]!["version"]!);
        Assert.Equal(SiemRecords.At / 1_000_000, (long)e["time"]!);
        Assert.Equal("h1", (string)e["device"]!["hostname"]!);
        Assert.Equal(4242, (int)e["evidences"]![0]!["process"]!["pid"]!);
        Assert.Equal("spy", (string)e["evidences"]![0]!["process"]!["name"]!);
        var facts = e["unmapped"]!["safehaven"]!;
        Assert.Equal("dc1", (string)facts["datacenter"]!);
        Assert.Equal("eu-prod", (string)facts["cluster"]!);
        Assert.Equal("cs-storm", (string)facts["rule"]!);
    }

    [Fact]
    public void A_quiet_detection_closes_its_finding()
    {
        var e = _ocsf.Finding(SiemRecords.Detection(kind: "quiet"));
        Assert.Equal(3, (int)e["activity_id"]!);
        Assert.Equal(200403, (long)e["type_uid"]!);
        Assert.Equal(4, (int)e["status_id"]!);
    }

    [Theory]
    [InlineData("core", 7003)]
    [InlineData("container", 7003)]
    [InlineData("vm", 7001)]
    public void A_move_result_is_a_remediation_Isolate_linked_to_its_finding(string level, int classUid)
    {
        var d = SiemRecords.Detection(level == "vm" ? SiemRecords.Vm() : level == "container" ? SiemRecords.Process(container: "ctr-1") : null);
        var e = _ocsf.Remediation(SiemRecords.Result(d, level));

        Assert.Equal(classUid, (int)e["class_uid"]!);
        Assert.Equal(7, (int)e["category_uid"]!);
        Assert.Equal(1, (int)e["activity_id"]!);
        Assert.Equal("Isolate", (string)e["activity_name"]!);
        Assert.Equal(classUid * 100L + 1, (long)e["type_uid"]!);
        Assert.Equal(1, (int)e["status_id"]!);
        Assert.Equal(Planner.CommandId(d.detectionId, level), (string)e["command_uid"]!);
        Assert.Equal(d.detectionId, (string)e["metadata"]!["correlation_uid"]!);
        Assert.Equal(d.detectionId, (string)e["unmapped"]!["safehaven"]!["detection_id"]!);
    }

    [Fact]
    public void A_release_result_is_Restore_and_a_failure_says_so()
    {
        var d = SiemRecords.Detection(kind: "quiet");
        var restore = _ocsf.Remediation(SiemRecords.Result(d, "core", step: "release"));
        Assert.Equal(3, (int)restore["activity_id"]!);
        Assert.Equal("Restore", (string)restore["activity_name"]!);
        Assert.Equal(d.detectionId, (string)restore["metadata"]!["correlation_uid"]!);

        var failed = _ocsf.Remediation(SiemRecords.Result(SiemRecords.Detection(), "core", "failed"));
        Assert.Equal(2, (int)failed["status_id"]!);
        Assert.Equal("no free slot", (string)failed["status_detail"]!);
    }

    [Theory]
    [InlineData("c-h1:1:2:r-core", "h1:1:2:r", "isolate")]
    [InlineData("c-h1:1:2:r-core-retry", "h1:1:2:r", "isolate")]
    [InlineData("c-h1:1:2:r-vm-in", "h1:1:2:r", "receive")]
    [InlineData("c-h1:1:2:r-vm-xdc3-in", "h1:1:2:r", "receive")]
    [InlineData("c-h1:1:2:r-vm-xdc3-in-conflict", "h1:1:2:r", "receive")]
    [InlineData("c-h1:1:2:r-vm-xdc3", "h1:1:2:r", "isolate")]
    [InlineData("c-h1:1:2:r-vm-xdcx-in", null, "receive")]
    [InlineData("c-h1:1:2:a-b-release", "h1:1:2:a-b", "release")]
    [InlineData("c-0123456789abcdef0123456789abcdef-core", null, "isolate")]
    [InlineData("mtd-42", null, "isolate")]
    [InlineData("", null, "isolate")]
    public void Command_ids_name_their_detection_and_action(string commandId, string? detectionId, string action) =>
        Assert.Equal(new ResultLink(detectionId, action), ResultLink.Of(commandId));

    [Fact]
    public void ECS_events_carry_the_fields_the_issue_names()
    {
        var d = SiemRecords.Detection();
        var alert = _ecs.Finding(d);
        Assert.Equal("alert", (string)alert["event"]!["kind"]!);
        Assert.Equal("2025-11-24T16:00:01.000Z", (string)alert["@timestamp"]!);
        Assert.Equal("intrusion_detection", (string)alert["event"]!["category"]![0]!);
        Assert.Equal("h1", (string)alert["host"]!["name"]!);
        Assert.Equal(4242, (int)alert["process"]!["pid"]!);
        Assert.Equal("spy", (string)alert["process"]!["name"]!);
        Assert.Equal("cs-storm", (string)alert["rule"]!["name"]!);
        Assert.Equal("SafeHaven", (string)alert["observer"]!["vendor"]!);
        Assert.Equal(d.detectionId, (string)alert["safehaven"]!["detection_id"]!);

        var result = _ecs.Remediation(SiemRecords.Result(d));
        Assert.Equal("isolate", (string)result["event"]!["action"]!);
        Assert.Equal("success", (string)result["event"]!["outcome"]!);
        Assert.Equal(d.detectionId, (string)result["safehaven"]!["detection_id"]!);
    }

    [SkippableFact]
    public async Task Every_event_of_both_dialects_validates_against_the_checked_in_subset()
    {
        var missing = await SiemPython.Missing("json", "python3");
        Skip.If(missing is not null, missing);
        foreach (var (format, projection) in new (string, ISiemProjection)[] { ("ocsf", _ocsf), ("ecs", _ecs) })
        {
            var events = Events(projection).Select(SiemJson.Text).ToList();
            var (exit, stdout, stderr) = await SiemPython.Run(["validate_siem.py", format], string.Join('\n', events) + "\n");
            Assert.True(exit == 0, $"{format}: {stdout} {stderr}");
            Assert.Equal(events.Count, (int)JsonNode.Parse(stdout)!["valid"]!);
        }
    }

    [SkippableFact]
    public async Task The_validator_catches_what_the_subset_forbids()
    {
        var missing = await SiemPython.Missing("json", "python3");
        Skip.If(missing is not null, missing);
        var bad = _ocsf.Finding(SiemRecords.Detection());
        bad["type_uid"] = 200402;
        bad["severity_id"] = 7;
        bad["finding_info"]!.AsObject().Remove("uid");
        bad["not_an_attribute"] = 1;
        var (exit, stdout, _) = await SiemPython.Run(["validate_siem.py", "ocsf"], SiemJson.Text(bad) + "\n");
        Assert.Equal(1, exit);
        var errors = JsonNode.Parse(stdout)!["errors"]!.AsArray().Select(e => (string)e!).ToList();
        Assert.Equal(4, errors.Count); // type_uid, severity_id, finding_info.uid, not_an_attribute
        Assert.Contains(errors, e => e.Contains("type_uid", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("finding_info.uid is required", StringComparison.Ordinal));
    }

    private static IEnumerable<JsonObject> Events(ISiemProjection p)
    {
        var process = SiemRecords.Detection();
        var container = SiemRecords.Detection(SiemRecords.Process(container: "ctr-1"), seq: 8);
        var vm = SiemRecords.Detection(SiemRecords.Vm(), seq: 9);
        var quiet = SiemRecords.Detection(kind: "quiet", seq: 10);
        yield return p.Finding(process);
        yield return p.Finding(container);
        yield return p.Finding(vm);
        yield return p.Finding(quiet);
        yield return p.Remediation(SiemRecords.Result(process));
        yield return p.Remediation(SiemRecords.Result(process, status: "failed"));
        yield return p.Remediation(SiemRecords.Result(process, status: "skipped"));
        yield return p.Remediation(SiemRecords.Result(process, status: "rejected"));
        yield return p.Remediation(SiemRecords.Result(container, "container"));
        yield return p.Remediation(SiemRecords.Result(container, "container", step: "container-in"));
        yield return p.Remediation(SiemRecords.Result(vm, "vm"));
        yield return p.Remediation(SiemRecords.Result(quiet, step: "release"));
    }
}

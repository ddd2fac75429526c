using Veil.Abi.AzureVtpm;
using Veil.Abi.Tdx;

namespace Veil.Abi.Tests;

public class TdxLayoutTests
{
    [Fact]
    public void The_body_follows_the_header_and_in_v5_the_descriptor()
    {
        Assert.Equal(48, TdxQuoteLayout.BodyOffset(4));
        Assert.Equal(54, TdxQuoteLayout.BodyOffset(5));
        Assert.True(TdxQuoteLayout.ReportDataInBody.End <= TdxQuoteLayout.BodyLengthTdx10);
        Assert.True(TdxQuoteLayout.BodyLengthTdx10 < TdxQuoteLayout.BodyLengthTdx15);
    }

    [Fact]
    public void Hcl_variable_data_starts_after_header_hardware_report_and_request_header()
    {
        Assert.Equal(0x4C0, HclReportLayout.RequestDataOffset);
        Assert.Equal(0x4D4, HclReportLayout.VariableDataOffset);
        Assert.True(HclReportLayout.TdReportLength <= HclReportLayout.HardwareReportLength);
        Assert.Equal("HCLA", System.Text.Encoding.ASCII.GetString(BitConverter.GetBytes(HclReportLayout.Signature)));
    }
}

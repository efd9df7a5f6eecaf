package ioasid.core.iommu;

import static ioasid.core.config.CoreConfigs.config;
import static ioasid.core.config.CoreConfigs.context;
import static ioasid.core.config.CoreConfigs.fromFile;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.iommu.DomainType;
import ioasid.core.config.LogLines;
import ioasid.core.impl.IoasidCore;

/** The IOMMU core's DS constructor and the values of deploy/ioasid.iommu.config (rule 41). */
class IommuCoreConfigurationTest {
    @Test
    @DisplayName("a refused default domain is one line, and the core runs on auto (DMA-FQ)")
    void refusedDefaultDomain() {
        Map<String, Object> props = fromFile("deploy/ioasid.iommu.config");
        props.put("default.domain", "bogus");
        props.put("pasid.quota", "many");
        IoasidCore ioasid = new IoasidCore(20, 10_000);
        LogLines log = new LogLines("ioasid.core");
        log.open();
        try {
            IommuCore iommu = new IommuCore(ioasid, config(IommuCore.Config.class,
                    Map.of("default.domain", "bogus")), context(), props);
            assertEquals(DomainType.DMA_FQ, iommu.platformDefault());
            iommu.close();
            assertEquals(List.of("WARNING deploy/ioasid.iommu.config: default.domain=bogus is not "
                    + "one of [auto, strict, passthrough]; pasid.quota=many is not an Integer; "
                    + "the IOMMU core uses the default of each"), log.lines());
        } finally {
            log.close();
            ioasid.close();
        }
    }

    @Test
    @DisplayName("values that fit are taken: strict is DMA, passthrough is identity")
    void valuesThatFit() {
        IoasidCore ioasid = new IoasidCore(20, 10_000);
        try {
            for (Map.Entry<String, DomainType> e : Map.of("strict", DomainType.DMA,
                    "passthrough", DomainType.IDENTITY, "auto", DomainType.DMA_FQ).entrySet()) {
                Map<String, Object> props = fromFile("deploy/ioasid.iommu.config");
                props.put("default.domain", e.getKey());
                IommuCore iommu = new IommuCore(ioasid, config(IommuCore.Config.class, props),
                        context(), props);
                assertEquals(e.getValue(), iommu.platformDefault());
                iommu.close();
            }
        } finally {
            ioasid.close();
        }
    }
}

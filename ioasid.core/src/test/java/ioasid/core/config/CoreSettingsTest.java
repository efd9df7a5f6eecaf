package ioasid.core.config;

import static ioasid.core.config.CoreConfigs.context;
import static ioasid.core.config.CoreConfigs.fromFile;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.iommu.spi.BackendConfigurations;
import ioasid.core.impl.IoasidCore;
import ioasid.core.iommu.IommuCore;

/**
 * The cores' own configurations (ioasid.core, ioasid.iommu) against the Metatype bnd generated
 * for them: a refused value is named in one line with its file, whether the checker ran first
 * (its verdict) or Config Admin delivered before it was registered (checked here).
 */
class CoreSettingsTest {
    private final LogLines log = new LogLines("ioasid.core");

    @BeforeEach
    void listen() {
        log.open();
    }

    @AfterEach
    void stopListening() {
        log.close();
    }

    @Test
    @DisplayName("a value its Metatype refuses is named with file, value and what is allowed")
    void refusedHere() {
        Map<String, Object> props = fromFile("deploy/ioasid.iommu.config");
        props.put("default.domain", "bogus");
        props.put("pasid.quota", 0);
        props.put("memory.encryption", true);
        assertEquals(Set.of("default.domain", "pasid.quota"),
                CoreSettings.refused(context(), IommuCore.PID, props, "it uses the defaults"));
        assertEquals(List.of("WARNING deploy/ioasid.iommu.config: default.domain=bogus is not "
                + "one of [auto, strict, passthrough]; pasid.quota=0 is below its minimum 1; "
                + "it uses the defaults"), log.lines());
    }

    @Test
    @DisplayName("the checker's verdict, when it ran first, names the keys and the line")
    void verdictOfTheChecker() {
        Map<String, Object> props = fromFile("deploy/ioasid.core.config");
        props.put(BackendConfigurations.PROBLEM, "id.bits=99 is not in [1, 20]; "
                + "listener.stall.timeout.ms=soon is not a Long");
        assertEquals(Set.of("id.bits", "listener.stall.timeout.ms"),
                CoreSettings.refused(context(), IoasidCore.PID, props, "x"));
        assertEquals(List.of("WARNING deploy/ioasid.core.config: id.bits=99 is not in [1, 20]; "
                + "listener.stall.timeout.ms=soon is not a Long; x"), log.lines());
    }

    @Test
    @DisplayName("a configuration that fits says nothing and refuses nothing")
    void fits() {
        Map<String, Object> props = fromFile("deploy/ioasid.core.config");
        props.put("id.bits", "16");
        props.put("listener.stall.timeout.ms", 500L);
        props.put("felix.fileinstall.dir", "deploy");
        assertEquals(Set.of(), CoreSettings.refused(context(), IoasidCore.PID, props, "x"));
        assertEquals(List.of(), log.lines());
    }
}

package ioasid.integration.osgi;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;

import javax.inject.Inject;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.ExamFactory;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;

import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.testkit.paxexam.IoasidOptions;
import ioasid.testkit.paxexam.IsolatedContainerFactory;

@RunWith(PaxExam.class)
@ExamFactory(IsolatedContainerFactory.class)
@ExamReactorStrategy(PerMethod.class)
public class SmokeIT {
    @Inject
    IoasidService ioasid;

    @Configuration
    public Option[] config() {
        return new Option[] {IoasidOptions.platform()};
    }

    @Test
    public void allocates() {
        assertNotNull(ioasid);
        IoasidSet s = ioasid.createSet(TokenType.NONE, "smoke", 10);
        IoasidHandle h = ioasid.alloc(s, 1, 100, null);
        assertEquals(1, h.id());
    }
}

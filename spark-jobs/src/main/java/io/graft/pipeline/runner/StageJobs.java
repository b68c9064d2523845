package io.graft.pipeline.runner;

import io.graft.config.ConfigException;
import io.graft.diagnostics.DivergenceJob;
import io.graft.diagnostics.EvaluateJob;
import io.graft.diagnostics.ProbeJob;
import io.graft.diagnostics.ReportJob;
import io.graft.diagnostics.VerdictJob;
import io.graft.engine.ConsoleLog;
import io.graft.jobs.Job;
import io.graft.jobs.JobContext;
import io.graft.jobs.JobEnv;
import io.graft.jobs.JobResult;
import io.graft.jobs.adversarial.DannJob;
import io.graft.jobs.finetune.FinetuneJob;
import io.graft.jobs.importer.FetchDataJob;
import io.graft.jobs.importer.ImportJob;
import io.graft.jobs.importer.ModelImportJob;
import io.graft.jobs.multitask.MultitaskJob;
import io.graft.jobs.pretrain.PretrainJob;
import io.graft.ml.PredictJob;
import io.graft.pipeline.PipelineException;
import io.graft.pipeline.PipelinePlan;
import io.graft.pipeline.StageType;
import io.graft.store.Storage;
import java.util.function.Supplier;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;

/**
 * A stage type's job, through the contract {@code graft COMMAND} runs too: its settings bound to
 * the job's config when the pipeline is planned, checked against the pipeline's session and run
 * when the stage's turn comes.
 */
final class StageJobs {
  private StageJobs() {}

  /** The job that runs a stage type. */
  static Job<?> job(StageType type) {
    return switch (type) {
      case FETCH_DATA -> FetchDataJob.JOB;
      case IMPORT -> ImportJob.JOB;
      case IMPORT_MODEL -> ModelImportJob.JOB;
      case PRETRAIN -> PretrainJob.JOB;
      case FINETUNE -> FinetuneJob.JOB;
      case MULTITASK -> MultitaskJob.JOB;
      case DANN -> DannJob.JOB;
      case DIVERGENCE -> DivergenceJob.JOB;
      case PROBE -> ProbeJob.JOB;
      case EVALUATE -> EvaluateJob.JOB;
      case VERDICT -> VerdictJob.JOB;
      case PREDICT -> PredictJob.JOB;
      case REPORT -> ReportJob.JOB;
    };
  }

  /** An instance's settings as its job's config, or a refusal naming the stage and the key or option. */
  static Object bind(PipelinePlan.Instance i) {
    String where = "stage '" + i.name() + "'";
    try {
      return job(i.type()).bind(i.settings(), where + " config");
    } catch (PipelineException e) {
      throw e;
    } catch (ConfigException e) {
      throw new PipelineException(e.getMessage().contains(where) ? e.getMessage() : where + ": " + e.getMessage(), e);
    } catch (CommandLine.ParameterException e) {
      throw new PipelineException(where + ": " + e.getMessage() + " (a stage's args are its command's options, without --)");
    }
  }

  static <C> int run(Job<C> job, Object settings, boolean resume, Supplier<SparkSession> spark, Storage storage) throws Exception {
    @SuppressWarnings("unchecked") // bound by this job's own bind
    C config = (C) settings;
    JobEnv env = new JobEnv(job.needsSpark() ? spark.get().sparkContext().getConf() : null, storage);
    Job.Checked checked = job.check(config, env, resume);
    JobResult result = checked.run(new JobContext(env, spark, resume, ConsoleLog.stdout(job.name())));
    result.lines().forEach(System.out::println);
    return result.exitStatus();
  }

  /** {@code spark}, asked for once. */
  static Supplier<SparkSession> once(Supplier<SparkSession> spark) {
    SparkSession[] session = {null};
    return () -> {
      if (session[0] == null) {
        session[0] = spark.get();
      }
      return session[0];
    };
  }
}

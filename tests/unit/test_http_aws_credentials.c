/* Unit tests for src/http/aws_credentials.c: the lookup order of the AWS CLI (explicit
 * profile, environment, AWS_PROFILE / default profile), both files and their precedence,
 * regions, and refusals. Files are written to a temporary directory named by
 * AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE and HOME. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http/aws_credentials.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static char cred_path[128], conf_path[128];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void clear_env(void)
{
    const char *vars[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                          "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/hr-awscred-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(cred_path, sizeof cred_path, "%s/credentials", dir);
    snprintf(conf_path, sizeof conf_path, "%s/config", dir);
    setenv("AWS_SHARED_CREDENTIALS_FILE", cred_path, 1);
    setenv("AWS_CONFIG_FILE", conf_path, 1);
    clear_env();
    write_file(cred_path, "# a comment\n"
                          "[default]\n"
                          "aws_access_key_id = AKIDDEFAULT\n"
                          "aws_secret_access_key=secretdefault\n"
                          "\n"
                          "[work]\n"
                          "aws_access_key_id = AKIDWORK\n"
                          "aws_secret_access_key = secret/work+x\n"
                          "aws_session_token = tokwork\n"
                          "[onlyid]\n"
                          "aws_access_key_id = AKIDONLY\n");
    write_file(conf_path, "[default]\n"
                          "region = eu-west-1\n"
                          "s3 =\n"
                          "  region = ignored-nested\n"
                          "[profile work]\n"
                          "region = ap-south-1\n"
                          "aws_access_key_id = AKIDFROMCONFIG\n"
                          "[profile cfgonly]\n"
                          "aws_access_key_id = AKIDCFG\n"
                          "aws_secret_access_key = secretcfg\n"
                          "[profile onlyid]\n"
                          "aws_secret_access_key = secretonly\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(cred_path);
    unlink(conf_path);
    rmdir(dir);
    clear_env();
    return 0;
}

static void test_default_profile(void **state)
{
    (void)state;
    hr_aws_credentials c;
    char err[256] = "";
    assert_int_equal(hr_aws_credentials_load(&c, NULL, NULL, err, sizeof err), 0);
    assert_true(c.present);
    assert_string_equal(c.access_key_id, "AKIDDEFAULT");
    assert_string_equal(c.secret_access_key, "secretdefault");
    assert_string_equal(c.session_token, "");
    assert_string_equal(c.region, "eu-west-1"); /* the nested s3 region is not the profile's */
    assert_non_null(strstr(c.source, "profile default"));
    assert_null(strstr(c.source, "secret"));
}

static void test_environment_wins_over_files(void **state)
{
    (void)state;
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
    setenv("AWS_SESSION_TOKEN", "tokenv", 1);
    setenv("AWS_DEFAULT_REGION", "us-west-1", 1);
    setenv("AWS_REGION", "us-east-2", 1);
    hr_aws_credentials c;
    char err[256] = "";
    assert_int_equal(hr_aws_credentials_load(&c, NULL, NULL, err, sizeof err), 0);
    assert_string_equal(c.access_key_id, "AKIDENV");
    assert_string_equal(c.session_token, "tokenv");
    assert_string_equal(c.region, "us-east-2"); /* AWS_REGION before AWS_DEFAULT_REGION */
    assert_string_equal(c.source, "environment");
    /* an explicit profile wins over the environment; an explicit region over both */
    assert_int_equal(hr_aws_credentials_load(&c, "work", "ca-central-1", err, sizeof err), 0);
    assert_string_equal(c.access_key_id, "AKIDWORK");
    assert_string_equal(c.region, "ca-central-1");
    /* only the key id in the environment: not credentials; the default profile answers */
    unsetenv("AWS_SECRET_ACCESS_KEY");
    assert_int_equal(hr_aws_credentials_load(&c, NULL, NULL, err, sizeof err), 0);
    assert_string_equal(c.access_key_id, "AKIDDEFAULT");
    clear_env();
}

static void test_named_profiles(void **state)
{
    (void)state;
    hr_aws_credentials c;
    char err[256] = "";
    setenv("AWS_PROFILE", "work", 1);
    assert_int_equal(hr_aws_credentials_load(&c, NULL, NULL, err, sizeof err), 0);
    /* the credentials file wins over the config file for the same key */
    assert_string_equal(c.access_key_id, "AKIDWORK");
    assert_string_equal(c.secret_access_key, "secret/work+x");
    assert_string_equal(c.session_token, "tokwork");
    assert_string_equal(c.region, "ap-south-1");
    setenv("AWS_PROFILE", "cfgonly", 1);
    assert_int_equal(hr_aws_credentials_load(&c, NULL, NULL, err, sizeof err), 0);
    assert_string_equal(c.access_key_id, "AKIDCFG");
    assert_non_null(strstr(c.source, conf_path));
    /* the two halves from the two files make one pair */
    assert_int_equal(hr_aws_credentials_load(&c, "onlyid", NULL, err, sizeof err), 0);
    assert_true(c.present);
    assert_string_equal(c.access_key_id, "AKIDONLY");
    assert_string_equal(c.secret_access_key, "secretonly");
    unsetenv("AWS_PROFILE");
}

static void test_missing(void **state)
{
    (void)state;
    hr_aws_credentials c;
    char err[256] = "";
    assert_int_equal(hr_aws_credentials_load(&c, "nosuch", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "nosuch"));
    setenv("AWS_PROFILE", "nosuch", 1); /* from the environment: no credentials, no error */
    assert_int_equal(hr_aws_credentials_load(&c, NULL, NULL, err, sizeof err), 0);
    assert_false(c.present);
    assert_string_equal(c.source, "none");
    assert_string_equal(c.access_key_id, "");
    unsetenv("AWS_PROFILE");
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    assert_int_equal(hr_aws_credentials_load(&c, NULL, NULL, err, sizeof err), 0);
    assert_false(c.present);
    assert_string_equal(c.region, "");
    setenv("AWS_SHARED_CREDENTIALS_FILE", cred_path, 1);
    setenv("AWS_CONFIG_FILE", conf_path, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_default_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_environment_wins_over_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_named_profiles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
